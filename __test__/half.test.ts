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
  MmapCache,
  openNpy,
  saveBinary,
  saveNpy,
  SharedMemoryArray,
} from '../dist/index.mjs'
import { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from '../js/half.js'
import { fileAs, pythonModules, tempDir, thrown } from './helpers'

const PYTHON = pythonModules(['numpy', 'ml_dtypes'], 'float16/bfloat16 interop tests')?.join(' ')

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
const F16 = (
  globalThis as { Float16Array?: new (n: number | ArrayBuffer) => ArrayLike<number> & { [i: number]: number } }
).Float16Array
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
      if (b !== wantBf16[i])
        wrong.push(`bfloat16 ${show(i)}: 0x${b.toString(16)}, ml_dtypes 0x${wantBf16[i].toString(16)}`)
    }
    expect(wrong.slice(0, 20)).toEqual([])
  })
})

/** What `.array` of a float16 array is here: a Float16Array where the runtime has one (Node >= 24). */
const FLOAT16_VIEW = HAS_F16 ? (F16 as unknown as typeof Uint16Array) : Uint16Array
/** Bits of a float16/bfloat16 array's view, whatever its type. */
const bitsOf = (a: ArrayBufferView) => new Uint16Array(a.buffer, a.byteOffset, a.byteLength / 2)
const VALUES = [1.5, -0, 65504, 65519, 65520, -1e9, 1e-8, 2 ** -24, 0.1, -2.5, NaN, Infinity, 3.14159, 300.7]
const ENCODE = { float16: float16Bits, bfloat16: bfloat16Bits } as const
const DECODE = { float16: float16Value, bfloat16: bfloat16Value } as const

describe('float16 and bfloat16 arrays', () => {
  it.each([
    ['float16', 'float16'],
    ['f2', 'float16'],
    ['<f2', 'float16'],
    ['|f2', 'float16'],
    ['=f2', 'float16'],
    ['e', 'float16'],
    ['<e', 'float16'],
    ['half', 'float16'],
    ['bfloat16', 'bfloat16'],
    ['bf16', 'bfloat16'],
  ])('dtype %j is %s, two bytes, and .array is the view of that dtype', (spelling, canonical) => {
    using a = MmapArray.create(path(), { shape: [2, 3], dtype: spelling })
    expect(a.dtype).toBe(canonical)
    expect(a.itemsize).toBe(2)
    expect(a.byteLength).toBe(12)
    expect(a.info().dtype).toBe(canonical)
    const view = canonical === 'float16' ? FLOAT16_VIEW : Uint16Array
    expect(Object.getPrototypeOf(a.array)).toBe(view.prototype)
    expect(a.array.length).toBe(6)
    expect(Object.getPrototypeOf(a.slice(1))).toBe(view.prototype)
    for (const chunk of a.chunks(1)) expect(Object.getPrototypeOf(chunk.data)).toBe(view.prototype)
  })

  it.each(['float16', 'bfloat16'] as const)(
    '%s: after close, get/set throw ERR_MMAP_CLOSED and views are empty',
    (dtype) => {
      const a = MmapArray.create(path(), { shape: 4, dtype, fill: 2 })
      const view = a.array
      const row = a.slice(1, 3)
      expect(a.get(3)).toBe(2) // the hot path, once the view exists
      a.close()
      expect(thrown(() => a.get(3)).code).toBe('ERR_MMAP_CLOSED')
      expect(thrown(() => a.set(3, 1)).code).toBe('ERR_MMAP_CLOSED')
      expect(thrown(() => a.fill(1)).code).toBe('ERR_MMAP_CLOSED')
      expect([view.length, row.length]).toEqual([0, 0])
    },
  )

  it('big-endian float16 is rejected like every big-endian dtype', () => {
    for (const bad of ['>f2', '>e', '!f2']) {
      expect(thrown(() => MmapArray.create(path(), { shape: 1, dtype: bad })).code).toBe('ERR_MMAP_INVALID_ARG')
    }
  })

  it.skipIf(!HAS_F16)(
    'the Float16Array constructor is the float16 dtype; Uint16Array stays uint16 (Node >= 24)',
    () => {
      using a = MmapArray.create(path(), { shape: 1, dtype: F16 as never })
      expect(a.dtype).toBe('float16')
      using u = MmapArray.create(path(), { shape: 1, dtype: Uint16Array })
      expect(u.dtype).toBe('uint16')
      using f = MmapArray.fromArray(path(), new (F16 as unknown as typeof Float32Array)([1.5, -0.25, 65504]))
      expect(f.dtype).toBe('float16')
      expect([f.get(0), f.get(1), f.get(2)]).toEqual([1.5, -0.25, 65504])
    },
  )

  it.each(['float16', 'bfloat16'] as const)(
    '%s: set rounds to nearest even, get returns the value, the file holds the bits (view and native paths)',
    (dtype) => {
      // 1-D small (the hot paths), 2-D, and large (> 1 MiB: the first accesses copy through a
      // native call before any view exists).
      for (const shape of [[VALUES.length], [2, VALUES.length / 2], [2 ** 20]]) {
        const p = path()
        using a = MmapArray.create(p, { shape, dtype })
        const at = (i: number): number[] => (shape.length === 2 ? [i % 2, Math.floor(i / 2)] : [i])
        VALUES.forEach((v, i) => a.set(...at(i), v))
        const want = VALUES.map((v) => DECODE[dtype](ENCODE[dtype](v)))
        const got = VALUES.map((_, i) => a.get(...at(i)))
        expect(got.map(String)).toEqual(want.map(String))
        expect(Object.is(a.get(...at(1)), -0)).toBe(true)
        if (dtype === 'float16') expect(a.get(...at(4))).toBe(Infinity) // 65520: to the even, past the largest finite
        a.flush()
        const onDisk = fileAs(Uint16Array, p)
        VALUES.forEach((v, i) => {
          const flat = shape.length === 2 ? (i % 2) * (VALUES.length / 2) + Math.floor(i / 2) : i
          expect(onDisk[flat], `${v}`).toBe(ENCODE[dtype](v))
        })
        // Through the view too, once it exists.
        expect(bitsOf(a.array)[0]).toBe(ENCODE[dtype](1.5))
        a.set(...at(0), 0.1)
        expect(a.get(...at(0))).toBe(DECODE[dtype](ENCODE[dtype](0.1)))
        expect(bitsOf(a.array)[0]).toBe(ENCODE[dtype](0.1))
      }
    },
  )

  it.each(['float16', 'bfloat16'] as const)('%s: fill and create({ fill }) store the rounded value', (dtype) => {
    const p = path()
    using a = MmapArray.create(p, { shape: [3, 5], dtype, fill: 0.1 })
    expect([...bitsOf(a.array)]).toEqual(Array(15).fill(ENCODE[dtype](0.1)))
    a.fill(-0)
    expect([...bitsOf(a.array)]).toEqual(Array(15).fill(0x8000))
    a.fill(1e39)
    expect(a.get(2, 4)).toBe(Infinity)
    a.fill(NaN)
    expect(a.get(1, 1)).toBeNaN()
    a.flush()
    expect([...fileAs(Uint16Array, p)]).toEqual(Array(15).fill(ENCODE[dtype](NaN)))
    using z = MmapArray.create(path(), { shape: 2, dtype, fill: -0 })
    expect(Object.is(z.get(0), -0)).toBe(true)
  })

  it.each(['float16', 'bfloat16'] as const)('%s: values given are values, never bits', (dtype) => {
    // A Uint16Array given as data is integers to convert, whatever the target dtype.
    using a = MmapArray.fromArray(path(), Uint16Array.of(1, 15360, 65535), { dtype })
    expect([a.get(0), a.get(1), a.get(2)]).toEqual([1, 15360, DECODE[dtype](ENCODE[dtype](65535))])
    expect(bitsOf(a.array)[0]).toBe(ENCODE[dtype](1))
    using b = MmapArray.fromArray(path(), [0.1, -2, 1e6], { dtype })
    expect([b.get(0), b.get(1), b.get(2)]).toEqual([0.1, -2, 1e6].map((v) => DECODE[dtype](ENCODE[dtype](v))))
    using c = MmapArray.fromArray(path(), Float64Array.of(0.1, NaN), { dtype, shape: [2, 1] })
    expect(c.get(0, 0)).toBe(DECODE[dtype](ENCODE[dtype](0.1)))
    expect(c.get(1, 0)).toBeNaN()
    // set(i, v) with an integer that happens to be a bit pattern is that integer.
    a.set(0, 0x3c00)
    expect(a.get(0)).toBe(DECODE[dtype](ENCODE[dtype](0x3c00)))
  })

  it('raw bits travel inside a float16/bfloat16 array: fromArray of one copies its bits exactly', () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      // A NaN with a payload is a pattern that no value given from JS produces.
      // A NaN with a payload (no value given from JS makes one), -0, the smallest subnormal, the largest finite.
      const patterns = dtype === 'float16' ? [0x7c01, 0x8000, 0x0001, 0x7bff] : [0x7f81, 0x8000, 0x0001, 0x7f7f]
      using a = MmapArray.create(path(), { shape: 4, dtype })
      bitsOf(a.array).set(patterns)
      using b = MmapArray.fromArray(path(), a)
      expect(b.dtype).toBe(dtype)
      expect([...bitsOf(b.array)]).toEqual(patterns)
      // The other half dtype, or float32, converts the values.
      const other = dtype === 'float16' ? 'bfloat16' : 'float16'
      using c = MmapArray.fromArray(path(), a, { dtype: other })
      expect([...bitsOf(c.array)].slice(1)).toEqual(patterns.slice(1).map((x) => ENCODE[other](DECODE[dtype](x))))
      expect(c.get(0)).toBeNaN()
      using d = MmapArray.fromArray(path(), a, { dtype: 'float32' })
      expect([...d.array].slice(1)).toEqual(patterns.slice(1).map((x) => DECODE[dtype](x)))
      // Copying one array's .array into another's is a bit copy.
      using e = MmapArray.create(path(), { shape: 4, dtype })
      e.array.set(a.array as never)
      expect([...bitsOf(e.array)]).toEqual(patterns)
    }
  })

  it.each(['float16', 'bfloat16'] as const)('%s: open, loadBinary, shapes, slices, offsets and modes', (dtype) => {
    const p = path()
    const values = Array.from({ length: 24 }, (_, i) => i / 4 - 3)
    MmapArray.fromArray(p, values, { dtype }).close()
    expect(readFileSync(p).length).toBe(48)
    using a = loadBinary(p, { dtype, shape: [2, 3, 4] })
    expect(a.readonly).toBe(true)
    expect(a.get(1, 2, 3)).toBe(values[23])
    expect(a.get(-1, 0, -1)).toBe(values[15])
    expect(thrown(() => a.set(0, 0, 0, 1)).code).toBe('ERR_MMAP_READONLY')
    const row = a.slice(1, 2)
    expect(row.length).toBe(12)
    expect([...bitsOf(row)]).toEqual(values.slice(12).map(ENCODE[dtype]))
    using whole = MmapArray.open(p, { dtype })
    expect(whole.shape).toEqual([24])
    using off = MmapArray.open(p, { dtype, offset: 8, shape: [4, 5] })
    expect(off.get(0, 0)).toBe(values[4])
    expect(thrown(() => MmapArray.open(p, { dtype, offset: 3 })).code).toBe('ERR_MMAP_ALIGNMENT')
    // An odd byte count (a new file: Windows refuses to truncate one that is mapped).
    const odd = path()
    writeFileSync(odd, new Uint8Array(7))
    expect(thrown(() => MmapArray.open(odd, { dtype })).code).toBe('ERR_MMAP_SIZE_MISMATCH')
    // Copy-on-write: the process's writes stay in the process.
    const q = path()
    saveBinary(q, Uint16Array.of(ENCODE[dtype](1), ENCODE[dtype](2)))
    using c = MmapArray.open(q, { dtype, mode: 'c' })
    c.set(0, 5)
    expect(c.get(0)).toBe(5)
    expect(fileAs(Uint16Array, q)[0]).toBe(ENCODE[dtype](1))
  })

  it.each(['float16', 'bfloat16'] as const)('%s: SharedMemoryArray and createSharedBuffer', (dtype) => {
    const shm = SharedMemoryArray.create({ shape: [3], dtype })
    try {
      expect(shm.dtype).toBe(dtype)
      shm.set(2, 0.3)
      using again = SharedMemoryArray.open(shm.path, { dtype })
      expect(again.get(2)).toBe(DECODE[dtype](ENCODE[dtype](0.3)))
      const view = dtype === 'float16' ? FLOAT16_VIEW : Uint16Array
      expect(Object.getPrototypeOf(again.array)).toBe(view.prototype)
    } finally {
      shm.unlink()
    }
    using anon = createSharedBuffer(dtype, 5)
    expect(anon.dtype).toBe(dtype)
    anon.fill(2.5)
    expect(anon.get(4)).toBe(2.5)
    expect(anon.sum()).toBe(12.5)
  })

  it('MmapCache keys float16 and bfloat16 views apart from uint16 views of the same file', () => {
    const p = path()
    saveBinary(p, Uint16Array.of(0x3c00, 0x4000))
    using cache = new MmapCache()
    const f = cache.getOrCreate(p, { dtype: 'f2' })
    const b = cache.getOrCreate(p, { dtype: 'bf16' })
    const u = cache.getOrCreate(p, { dtype: 'uint16' })
    expect(cache.size).toBe(3)
    expect(cache.getOrCreate(p, { dtype: 'float16' })).toBe(f)
    expect([f.get(0), f.get(1)]).toEqual([1, 2])
    expect(b.get(0)).toBe(bfloat16Value(0x3c00))
    expect(u.get(1)).toBe(0x4000)
  })

  it.each(['float16', 'bfloat16'] as const)('%s: bad values are rejected as for float32', (dtype) => {
    using a = MmapArray.create(path(), { shape: 2, dtype })
    using f = MmapArray.create(path(), { shape: 2, dtype: 'float32' })
    for (const bad of ['1', '', null, undefined, {}, [1], Symbol('x')] as never[]) {
      expect(thrown(() => f.set(0, bad)).code).toBe('ERR_MMAP_INVALID_ARG')
      const e = thrown(() => a.set(0, bad))
      expect(e.code).toBe('ERR_MMAP_INVALID_ARG')
      expect(e.message).toContain(`a ${dtype} value must be a number`)
      expect(thrown(() => a.fill(bad)).code).toBe('ERR_MMAP_INVALID_ARG')
      expect(thrown(() => MmapArray.fromArray(path(), [1, bad], { dtype })).code).toBe('ERR_MMAP_INVALID_ARG')
      if (bad != null) {
        expect(thrown(() => MmapArray.create(path(), { shape: 1, dtype, fill: bad })).code).toBe('ERR_MMAP_INVALID_ARG')
      }
    }
    // float32 takes a bigint as the number it is, and so do the half dtypes; booleans are 0/1.
    f.set(0, 3n)
    a.set(0, 3n)
    expect([a.get(0), f.get(0)]).toEqual([3, 3])
    a.set(1, true)
    expect(a.get(1)).toBe(1)
  })

  it.each(['float16', 'bfloat16'] as const)(
    '%s: reductions return numbers, accumulating wider than the dtype',
    (dtype) => {
      using a = MmapArray.create(path(), { shape: 4096, dtype })
      for (let i = 0; i < 4096; i++) a.set(i, (i % 17) - 8)
      expect(a.sum()).toBe(Array.from({ length: 4096 }, (_, i) => (i % 17) - 8).reduce((s, v) => s + v, 0))
      expect(a.min()).toBe(-8)
      expect(a.max()).toBe(8)
      // 4096 ones: a float16 accumulator would stop at 2048, a bfloat16 one at 256.
      a.fill(1)
      expect(a.sum()).toBe(4096)
      expect(a.mean()).toBe(1)
      expect(a.std()).toBe(0)
      a.set(7, NaN)
      expect(a.max()).toBeNaN()
      using empty = MmapArray.create(path(), { shape: 0, dtype })
      expect(empty.sum()).toBe(0)
      expect(empty.mean()).toBeNaN()
      expect(thrown(() => empty.min()).code).toBe('ERR_MMAP_INVALID_ARG')
    },
  )

  it('saveNpy of float16 writes <f2 and openNpy reads it back; bfloat16 is an error naming safetensors', () => {
    const p = path('npy')
    using a = MmapArray.fromArray(path(), [0.5, -0, 65504, 1e-7], { dtype: 'float16', shape: [2, 2] })
    saveNpy(p, a)
    expect(readFileSync(p).subarray(10, 60).toString('latin1')).toContain("'descr': '<f2'")
    using b = openNpy(p)
    expect(b.dtype).toBe('float16')
    expect(b.shape).toEqual([2, 2])
    expect([...bitsOf(b.array)]).toEqual([...bitsOf(a.array)])
    using bf = MmapArray.create(path(), { shape: 2, dtype: 'bfloat16' })
    const q = path('npy')
    const e = thrown(() => saveNpy(q, bf))
    expect(e.code).toBe('ERR_MMAP_INVALID_ARG')
    expect(e.message).toMatch(/safetensors/i)
    expect(e.path).toBe(q)
    // A header naming bfloat16 is not numpy's.
    const header = readFileSync(p)
    const forged = Buffer.from(header.toString('latin1').replace("'<f2'", "'bf16'"), 'latin1')
    const r = path('npy')
    writeFileSync(r, forged)
    expect(thrown(() => openNpy(r)).code).toBe('ERR_MMAP_FORMAT')
  })
})

describe.skipIf(PYTHON === undefined)(`float16 and bfloat16 files with numpy and ml_dtypes (${PYTHON})`, () => {
  it(".npy '<f2' files numpy writes open with the right values, and ours load in numpy", () => {
    const mine = path('npy')
    using src = MmapArray.fromArray(
      path(),
      Float64Array.from({ length: 12 }, (_, i) => (i - 5) / 3),
      {
        dtype: 'float16',
        shape: [3, 4],
      },
    )
    saveNpy(mine, src)
    const out = python(`
import json, numpy as np
a = (np.arange(-20, 20, dtype=np.float64) / 7).astype(np.float16).reshape(5, 8)
a[0, 0] = -0.0; a[0, 1] = np.inf; a[0, 2] = np.float16(6e-8)
np.save('numpy_f2.npy', a)
b = np.load(${JSON.stringify(mine)}, mmap_mode='r')
print(json.dumps({'written': a.view(np.uint16).ravel().tolist(), 'dtype': str(b.dtype), 'shape': list(b.shape),
                  'read': np.asarray(b).view(np.uint16).ravel().tolist()}))
`)
    const r = JSON.parse(out)
    using a = openNpy(join(dir, 'numpy_f2.npy'))
    expect(a.dtype).toBe('float16')
    expect(a.shape).toEqual([5, 8])
    expect([...bitsOf(a.array)]).toEqual(r.written)
    expect(Object.is(a.get(0, 0), -0)).toBe(true)
    expect(a.get(0, 1)).toBe(Infinity)
    expect(a.get(4, 7)).toBe(float16Value(r.written[39]))
    expect(r.dtype).toBe('float16')
    expect(r.shape).toEqual([3, 4])
    expect(r.read).toEqual([...bitsOf(src.array)])
  })

  it('reductions agree with numpy (float16) and ml_dtypes (bfloat16) on the same data', () => {
    const cases: [string, string][] = []
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const p = path()
      const rnd = random(dtype.length)
      using a = MmapArray.create(p, { shape: [100_003], dtype })
      for (let i = 0; i < a.size; i++) a.set(i, (rnd() - 0.3) * 1000)
      a.flush()
      cases.push([dtype, p])
    }
    const out = python(`
import json, numpy as np, ml_dtypes
res = {}
for dt, p in ${JSON.stringify(cases)}:
    a = np.fromfile(p, dtype=np.float16 if dt == 'float16' else ml_dtypes.bfloat16).astype(np.float64)
    res[dt] = [float(a.sum()), float(a.mean()), float(a.std()), float(a.min()), float(a.max())]
print(json.dumps(res))
`)
    const want = JSON.parse(out)
    for (const [dtype, p] of cases) {
      using a = MmapArray.open(p, { dtype, mode: 'r' })
      const [sum, mean, std, min, max] = want[dtype]
      // numpy's float16 sum returns a float16; compared here with the exact (float64) sum of the
      // same values, which an accumulator of float32 or wider stays within 1e-6 of.
      expect(Math.abs((a.sum() as number) - sum)).toBeLessThan(1e-6 * a.size * 1000)
      expect(a.mean()).toBeCloseTo(mean, 3)
      expect(Math.abs(a.std() - std) / std).toBeLessThan(1e-5)
      expect(a.min()).toBe(min)
      expect(a.max()).toBe(max)
    }
  })
})
