// float16 and bfloat16 (API.md "float16 and bfloat16", issue #14 item 1): the conversions against
// numpy's float16 and ml_dtypes' bfloat16 over all 65,536 bit patterns and the rounding cases,
// then the dtypes through every API that takes one.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import {
  createSharedBuffer,
  loadBinary,
  MmapArray,
  openNpy,
  saveBinary,
  saveNpy,
  SharedMemoryArray,
} from '../dist/index.mjs'
import { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from '../js/half.js'
import { fileAs, tempDir, thrown, WINE, WINDOWS } from './helpers'

const probe = WINE
  ? undefined
  : spawnSync('python3', ['-c', 'import numpy, ml_dtypes; print(numpy.__version__, ml_dtypes.__version__)'], {
      encoding: 'utf8',
    })
const PYTHON = probe?.status === 0 ? probe.stdout.trim() : undefined
if (PYTHON === undefined) {
  const why = WINE
    ? 'there is no Windows Python under Wine here (the interop tests run on Linux, Node 20-26)'
    : 'numpy and ml_dtypes are not installed for python3 (python3 -m pip install numpy ml-dtypes)'
  // CI installs both (.ci/run): there a missing package is a failure, not a skip.
  if (process.env.CI && !WINE) throw new Error(`float16/bfloat16 interop tests cannot run in CI: ${why}`)
  console.warn(`SKIPPING float16/bfloat16 interop tests: ${why}`)
}

const dir = tempDir()
let n = 0
const path = (ext = 'bin') => join(dir, `h${n++}.${ext}`)

/** Runs `code` in one Python process in the test directory; it exchanges data through files there. */
function python(code: string): string {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', cwd: dir })
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`)
  return r.stdout
}

const HAS_F16 = typeof (globalThis as { Float16Array?: unknown }).Float16Array === 'function'
const F16 = (globalThis as { Float16Array?: new (n: number | ArrayBuffer) => ArrayLike<number> & { [i: number]: number } })
  .Float16Array
const f16round = (Math as { f16round?: (x: number) => number }).f16round

const ALL = Uint16Array.from({ length: 65536 }, (_, i) => i)
const same = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))

/** A double from its high and low 32-bit words. */
function fromWords(hi: number, lo: number): number {
  const f = new Float64Array(1)
  const w = new Uint32Array(f.buffer)
  w[0] = lo >>> 0
  w[1] = hi >>> 0
  return f[0]
}
/** The next double after `x` toward +Infinity (up) or -Infinity. */
function nextDouble(x: number, up: boolean): number {
  if (x === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE
  const f = new Float64Array([x])
  const b = new BigInt64Array(f.buffer)
  b[0] += x > 0 === up ? 1n : -1n
  return f[0]
}
/** A small seeded generator (mulberry32): the same random doubles on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Inputs that exercise rounding: every midpoint between neighbouring finite values of both
 * formats (as doubles: exact) and the doubles either side of it, the same for float32 neighbours
 * of bfloat16 midpoints, the overflow thresholds, the subnormal range, special values and NaNs
 * with payloads, and random doubles over all exponents and near the float16 range.
 */
function roundingInputs(): Float64Array {
  const xs: number[] = []
  const f32 = new Float32Array(1)
  const f32bits = new Uint32Array(f32.buffer)
  for (const [value, max] of [
    [float16Value, 0x7c00],
    [bfloat16Value, 0x7f80],
  ] as const) {
    for (let b = 0; b < max; b++) {
      for (const sign of [1, -1]) {
        const lo = sign * value(b)
        const hi = sign * value(b + 1) // b + 1 = max is Infinity: the overflow threshold's neighbours
        const mid = Number.isFinite(hi) ? (lo + hi) / 2 : sign * (value(b) + (value(b) - value(b - 1)) / 2)
        xs.push(mid, nextDouble(mid, true), nextDouble(mid, false))
        if (value === bfloat16Value) {
          // float32 neighbours of the midpoint: they stay apart after Math.fround.
          f32[0] = mid
          f32bits[0] += 1
          xs.push(f32[0])
          f32[0] = mid
          f32bits[0] -= 1
          xs.push(f32[0])
        }
      }
    }
  }
  xs.push(0, -0, Infinity, -Infinity, NaN, -NaN, 65504, 65519, 65520, 65536, 1e300, -1e300)
  xs.push(3.4028234663852886e38, 3.4028235677973366e38, 3.4028235677973362e38, Number.MAX_VALUE)
  for (let k = -30; k <= -10; k++) xs.push(2 ** k, -(2 ** k), 1.5 * 2 ** k, 2 ** k * (1 + 2 ** -11))
  xs.push(2 ** -25, nextDouble(2 ** -25, true), nextDouble(2 ** -25, false), 3 * 2 ** -26, Number.MIN_VALUE)
  xs.push(-Number.MIN_VALUE, 2 ** -126, 2 ** -133, 2 ** -134, 1.5 * 2 ** -134, 2 ** -149, 2 ** -150)
  // NaNs with payloads and both signs (numpy keeps the top bits of a float16 payload).
  for (const hi of [0x7ff00000, 0x7ff40000, 0x7ff80000, 0x7ffc0400, 0x7ff003ff, 0xfff00000, 0xfff80000]) {
    for (const lo of [1, 0x80000000, 0]) if (hi !== 0x7ff00000 || lo !== 0) xs.push(fromWords(hi, lo))
  }
  const rnd = random(14)
  for (let i = 0; i < 50_000; i++) {
    const hi = (rnd() * 2 ** 32) >>> 0
    if ((hi & 0x7ff00000) !== 0x7ff00000) xs.push(fromWords(hi, (rnd() * 2 ** 32) >>> 0)) // every exponent
    xs.push((rnd() - 0.5) * 140_000) // around the float16 range
    xs.push((rnd() < 0.5 ? -1 : 1) * 2 ** (rnd() * 60 - 30)) // log-spread over float16's exponents
  }
  return Float64Array.from(xs)
}

describe('conversions without Python', () => {
  it('every non-NaN float16 and bfloat16 value re-encodes to its own bit pattern', () => {
    for (const [bits, value] of [
      [float16Bits, float16Value],
      [bfloat16Bits, bfloat16Value],
    ] as const) {
      let checked = 0
      for (const b of ALL) {
        const v = value(b)
        if (Number.isNaN(v)) continue
        expect(bits(v)).toBe(b)
        checked++
      }
      // All but the NaNs: 2 * 1023 for float16, 2 * 127 for bfloat16.
      expect(checked).toBe(value === float16Value ? 63_490 : 65_282)
    }
  })

  it('known values: rounding ties to even, overflow to Infinity, -0, subnormals, NaN sign', () => {
    expect(float16Bits(1)).toBe(0x3c00)
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00) // tie: to the even 0x3c00
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie: to the even 0x3c02
    expect(float16Bits(nextDouble(1 + 2 ** -11, true))).toBe(0x3c01) // one rounding: no double-rounding tie
    expect(float16Bits(65504)).toBe(0x7bff)
    expect(float16Bits(nextDouble(65520, false))).toBe(0x7bff)
    expect(float16Bits(65520)).toBe(0x7c00)
    expect(float16Bits(-1e9)).toBe(0xfc00)
    expect(float16Bits(-0)).toBe(0x8000)
    expect(float16Bits(2 ** -24)).toBe(0x0001)
    expect(float16Bits(2 ** -25)).toBe(0x0000) // tie between 0 and the smallest subnormal
    expect(float16Bits(-(2 ** -25) * 3)).toBe(0x8002)
    expect(float16Bits(NaN)).toBe(0x7e00)
    expect(float16Value(0x0001)).toBe(2 ** -24)
    expect(float16Value(0x03ff)).toBe(1023 * 2 ** -24)
    expect(float16Value(0x8000)).toBe(-0)
    expect(float16Value(0xfc00)).toBe(-Infinity)
    expect(float16Value(0x7c01)).toBeNaN()
    expect(bfloat16Bits(1)).toBe(0x3f80)
    expect(bfloat16Bits(1 + 2 ** -8)).toBe(0x3f80) // tie to even
    expect(bfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82)
    expect(bfloat16Bits(-0)).toBe(0x8000)
    expect(bfloat16Bits(3.4e38)).toBe(0x7f80) // past bfloat16's largest finite value (3.39e38)
    expect(bfloat16Bits(-Infinity)).toBe(0xff80)
    expect(bfloat16Bits(NaN)).toBe(0x7fc0)
    expect(bfloat16Bits(2 ** -133)).toBe(0x0001)
    expect(bfloat16Value(0x0001)).toBe(2 ** -133)
    expect(bfloat16Value(0x3f80)).toBe(1)
    expect(bfloat16Value(0xff81)).toBeNaN()
    // bfloat16 rounds the float32 value: 1 + 2^-8 + 2^-30 is 1 + 2^-8 as float32, a tie.
    expect(bfloat16Bits(1 + 2 ** -8 + 2 ** -30)).toBe(0x3f80)
    expect(float16Bits(-fromWords(0x7ff80000, 0))).toBe(0xfe00)
  })

  it.skipIf(!HAS_F16)(
    "the runtime's Float16Array and Math.f16round agree with the JS conversions, bit for bit (Node >= 24)",
    () => {
      // On runtimes with Float16Array, `.array` of a float16 array is one: its reads and writes
      // must be the same numbers as get()/set(). NaN payloads are the runtime's (ECMAScript
      // leaves them to the implementation): NaN inputs are compared as NaN only.
      const F = F16 as NonNullable<typeof F16>
      const view = new F(ALL.slice().buffer)
      for (let b = 0; b < 65536; b++) expect(same(view[b], float16Value(b))).toBe(true)
      const xs = roundingInputs()
      const one = new F(1)
      const bits = new Uint16Array((one as unknown as Uint16Array).buffer)
      let mismatches = 0
      for (const x of xs) {
        one[0] = x
        const mine = float16Bits(x)
        if (Number.isNaN(x) ? !Number.isNaN(float16Value(bits[0])) : bits[0] !== mine) mismatches++
        if (!same((f16round as (x: number) => number)(x), float16Value(mine))) mismatches++
      }
      expect(mismatches).toBe(0)
    },
  )
})

describe.skipIf(PYTHON === undefined)(`against numpy and ml_dtypes (${PYTHON})`, () => {
  it('decodes all 65,536 float16 and bfloat16 bit patterns to the values Python gives', () => {
    python(`
import numpy as np, ml_dtypes
bits = np.arange(65536, dtype=np.uint32).astype(np.uint16)
bits.view(np.float16).astype(np.float64).tofile('f16_values.bin')
bits.view(ml_dtypes.bfloat16).astype(np.float64).tofile('bf16_values.bin')
`)
    for (const [file, value, nan] of [
      ['f16_values.bin', float16Value, 0x7c01],
      ['bf16_values.bin', bfloat16Value, 0x7f81],
    ] as const) {
      const want = fileAs(Float64Array, join(dir, file))
      expect(want.length).toBe(65536)
      const wrong: string[] = []
      for (let b = 0; b < 65536; b++) if (!same(value(b), want[b])) wrong.push(`${file} 0x${b.toString(16)}`)
      expect(wrong).toEqual([])
      // The comparison tells -0 from 0 and NaN from anything else.
      expect(Object.is(want[0x8000], -0)).toBe(true)
      expect(Number.isNaN(want[nan])).toBe(true)
    }
  })

  it('encodes all 65,536 decoded values to the bit patterns Python encodes them to', () => {
    // The other direction: Python encodes our decoded values (NaN patterns included: Python
    // gets JS's NaN) and we must produce the same bits for each.
    const f16 = Float64Array.from(ALL, float16Value)
    const bf16 = Float64Array.from(ALL, bfloat16Value)
    writeFileSync(join(dir, 'f16_in.bin'), new Uint8Array(f16.buffer))
    writeFileSync(join(dir, 'bf16_in.bin'), new Uint8Array(bf16.buffer))
    python(`
import numpy as np, ml_dtypes, warnings
warnings.simplefilter('ignore')
np.fromfile('f16_in.bin', dtype='<f8').astype(np.float16).view(np.uint16).tofile('f16_out.bin')
np.fromfile('bf16_in.bin', dtype='<f8').astype(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16).tofile('bf16_out.bin')
`)
    const wantF16 = fileAs(Uint16Array, join(dir, 'f16_out.bin'))
    const wantBf16 = fileAs(Uint16Array, join(dir, 'bf16_out.bin'))
    const wrong: string[] = []
    for (let b = 0; b < 65536; b++) {
      if (float16Bits(f16[b]) !== wantF16[b]) wrong.push(`float16 0x${b.toString(16)}`)
      if (bfloat16Bits(bf16[b]) !== wantBf16[b]) wrong.push(`bfloat16 0x${b.toString(16)}`)
      if (!Number.isNaN(f16[b]) && wantF16[b] !== b) wrong.push(`numpy float16 0x${b.toString(16)}`)
    }
    expect(wrong).toEqual([])
  })

  it('rounds midpoints, their neighbours, overflow, subnormals, NaNs and random doubles as numpy and ml_dtypes do', () => {
    const xs = roundingInputs()
    expect(xs.length).toBeGreaterThan(500_000)
    writeFileSync(join(dir, 'round_in.bin'), new Uint8Array(xs.buffer))
    python(`
import numpy as np, ml_dtypes, warnings
warnings.simplefilter('ignore')
x = np.fromfile('round_in.bin', dtype='<f8')
x.astype(np.float16).view(np.uint16).tofile('round_f16.bin')
x.astype(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16).tofile('round_bf16.bin')
`)
    const wantF16 = fileAs(Uint16Array, join(dir, 'round_f16.bin'))
    const wantBf16 = fileAs(Uint16Array, join(dir, 'round_bf16.bin'))
    const words = new Uint32Array(xs.buffer)
    const show = (i: number) => `${xs[i]} (0x${words[2 * i + 1].toString(16)}_${words[2 * i].toString(16)})`
    const wrong: string[] = []
    for (let i = 0; i < xs.length; i++) {
      const f = float16Bits(xs[i])
      const b = bfloat16Bits(xs[i])
      if (f !== wantF16[i]) wrong.push(`float16 ${show(i)}: 0x${f.toString(16)}, numpy 0x${wantF16[i].toString(16)}`)
      if (b !== wantBf16[i]) wrong.push(`bfloat16 ${show(i)}: 0x${b.toString(16)}, ml_dtypes 0x${wantBf16[i].toString(16)}`)
    }
    expect(wrong.slice(0, 20)).toEqual([])
  })
})
