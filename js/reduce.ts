// Reductions over a whole typed array with numpy's results: pairwise summation for floats (as
// numpy's add.reduce does), exact integer sums, population std computed in two passes
// (numpy's _var: mean, then the mean of squared deviations), NaN propagating through min/max.
import type { DTypeInfo, TypedArray } from './dtype.js'
import { invalidArg } from './errors.js'

type Numeric = Exclude<TypedArray, BigInt64Array | BigUint64Array>
type Big = BigInt64Array | BigUint64Array

const BLOCK = 128

/** numpy's pairwise_sum: 8 accumulators up to 128 elements, halves above. */
function pairwise(a: Numeric, start: number, n: number): number {
  if (n < 8) {
    let s = 0
    for (let i = start; i < start + n; i++) s += a[i]
    return s
  }
  if (n <= BLOCK) {
    let r0 = a[start],
      r1 = a[start + 1],
      r2 = a[start + 2],
      r3 = a[start + 3]
    let r4 = a[start + 4],
      r5 = a[start + 5],
      r6 = a[start + 6],
      r7 = a[start + 7]
    const end8 = start + n - (n % 8)
    let i = start + 8
    for (; i < end8; i += 8) {
      r0 += a[i]
      r1 += a[i + 1]
      r2 += a[i + 2]
      r3 += a[i + 3]
      r4 += a[i + 4]
      r5 += a[i + 5]
      r6 += a[i + 6]
      r7 += a[i + 7]
    }
    let s = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7))
    for (; i < start + n; i++) s += a[i]
    return s
  }
  let half = Math.floor(n / 2)
  half -= half % 8
  return pairwise(a, start, half) + pairwise(a, start + half, n - half)
}

/** Same as `pairwise` over (a[i] - mean)^2. */
function pairwiseSquares(a: Numeric, start: number, n: number, mean: number): number {
  if (n <= BLOCK) {
    let r0 = 0,
      r1 = 0,
      r2 = 0,
      r3 = 0
    let i = start
    const end4 = start + n - (n % 4)
    for (; i < end4; i += 4) {
      const d0 = a[i] - mean,
        d1 = a[i + 1] - mean,
        d2 = a[i + 2] - mean,
        d3 = a[i + 3] - mean
      r0 += d0 * d0
      r1 += d1 * d1
      r2 += d2 * d2
      r3 += d3 * d3
    }
    let s = r0 + r1 + (r2 + r3)
    for (; i < start + n; i++) {
      const d = a[i] - mean
      s += d * d
    }
    return s
  }
  let half = Math.floor(n / 2)
  half -= half % 8
  return pairwiseSquares(a, start, half, mean) + pairwiseSquares(a, start + half, n - half, mean)
}

// Integer sums in chunks small enough that a double holds each chunk's sum exactly
// (2^20 elements of at most 2^32 magnitude < 2^53); chunk totals go to a BigInt once the
// running total could lose a unit.
const CHUNK = 1 << 20

function integerSum(a: Numeric): number {
  let total = 0
  let big: bigint | undefined
  for (let start = 0; start < a.length; start += CHUNK) {
    const end = Math.min(a.length, start + CHUNK)
    let s = 0
    for (let i = start; i < end; i++) s += a[i]
    if (big === undefined && Math.abs(total) + Math.abs(s) < Number.MAX_SAFE_INTEGER) total += s
    else big = (big ?? BigInt(total)) + BigInt(s)
  }
  return big === undefined ? total : Number(big)
}

function bigSum(a: Big): bigint {
  let s = 0n
  for (let i = 0; i < a.length; i++) s += a[i]
  return s
}

/** @internal */
export function sum(a: TypedArray, dtype: DTypeInfo): number | bigint {
  if (dtype.bigint) return bigSum(a as Big)
  if (dtype.float) return pairwise(a as Numeric, 0, a.length)
  return integerSum(a as Numeric)
}

/** @internal */
export function mean(a: TypedArray, dtype: DTypeInfo): number {
  if (a.length === 0) return NaN
  return Number(sum(a, dtype)) / a.length
}

/** Population standard deviation (numpy's default, ddof = 0). @internal */
export function std(a: TypedArray, dtype: DTypeInfo): number {
  const n = a.length
  if (n === 0) return NaN
  const m = mean(a, dtype)
  if (dtype.bigint) {
    const b = a as Big
    let s = 0
    for (let i = 0; i < n; i++) {
      const d = Number(b[i]) - m
      s += d * d
    }
    return Math.sqrt(s / n)
  }
  return Math.sqrt(pairwiseSquares(a as Numeric, 0, n, m) / n)
}

function extreme(a: TypedArray, dtype: DTypeInfo, path: string | undefined, wantMax: boolean): number | bigint {
  const n = a.length
  if (n === 0) {
    throw invalidArg(`${wantMax ? 'max' : 'min'}() of an empty array has no value (numpy raises too)`, path)
  }
  if (dtype.bigint) {
    const b = a as Big
    let best = b[0]
    for (let i = 1; i < n; i++) {
      const v = b[i]
      if (wantMax ? v > best : v < best) best = v
    }
    return best
  }
  const x = a as Numeric
  let best = x[0]
  if (dtype.float) {
    for (let i = 0; i < n; i++) {
      const v = x[i]
      if (v !== v) return NaN // numpy propagates NaN
      if (wantMax ? v > best : v < best) best = v
    }
    return best
  }
  for (let i = 1; i < n; i++) {
    const v = x[i]
    if (wantMax ? v > best : v < best) best = v
  }
  return best
}

/** @internal */
export function min(a: TypedArray, dtype: DTypeInfo, path?: string): number | bigint {
  return extreme(a, dtype, path, false)
}

/** @internal */
export function max(a: TypedArray, dtype: DTypeInfo, path?: string): number | bigint {
  return extreme(a, dtype, path, true)
}
