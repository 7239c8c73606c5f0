// float16 and bfloat16 conversions: pure functions between JS numbers and 16-bit patterns.
// - float16 from a number: ONE rounding to nearest even, straight from the double, as numpy's
//   float64 -> float16 cast does (npy_doublebits_to_halfbits), NaN payload and sign included.
// - bfloat16 from a number: the number's float32 value (Math.fround), then round to nearest even
//   on its upper 16 bits, as ml_dtypes and PyTorch do; NaN keeps its sign and becomes the quiet
//   NaN 0x7fc0 / 0xffc0, as ml_dtypes makes it.
// - Decoding is exact (every float16 and bfloat16 value is a double).
// The runtime's Float16Array is not used to convert: ECMAScript leaves the NaN bits it stores to
// the implementation, and one function everywhere gives the same bits on every Node version.

/** Scratch for reading a number's bits. Index of the high word: 1 on little-endian hosts. */
const f64 = new Float64Array(1)
const f64Words = new Uint32Array(f64.buffer)
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0
const f32 = new Float32Array(1)
const f32Bits = new Uint32Array(f32.buffer)

/** Adding and subtracting 2^52 rounds a number in [0, 2^51] to an integer, ties to even. */
const ROUND = 2 ** 52

/** 2^(10 - e) for the float16 exponents e = -14..15, the scale that puts 10 fraction bits before the point. */
const SCALE = Array.from({ length: 30 }, (_, i) => 2 ** (10 - (i - 14)))
/** 2^(e - 25) for the float16 exponent fields e = 0..31 (0: subnormals, scale 2^-24). */
const UNIT = Array.from({ length: 32 }, (_, e) => 2 ** (Math.max(e, 1) - 25))

/** The float16 bit pattern nearest `x` (ties to even); ±Infinity past 65504, NaN stays NaN. */
export function float16Bits(x: number): number {
  f64[0] = x
  const hi = f64Words[HI]
  const sign = (hi >>> 16) & 0x8000
  const exp = (hi >>> 20) & 0x7ff
  if (exp === 0x7ff) {
    if (x === x) return sign | 0x7c00 // ±Infinity
    // NaN: the top 10 bits of the payload, kept a NaN (numpy's rule).
    const payload = (hi & 0xfffff) >>> 10
    return sign | 0x7c00 | (payload === 0 ? 1 : payload)
  }
  const a = Math.abs(x)
  if (a >= 65520) return sign | 0x7c00 // 65520 is halfway to 2^16: the tie goes to the even, Infinity
  // e = floor(log2(a)), read from the bits; below 2^-14 the scale of the subnormals.
  const e = Math.max(exp - 1023, -14)
  // q in [0, 2048]: the rounded significand with its leading bit; q = 2048 (or 1024 from a
  // subnormal) carries into the exponent, which is the right pattern.
  const q = a * SCALE[e + 14] + ROUND - ROUND
  return sign | (((e + 14) << 10) + q)
}

/** The number a float16 bit pattern holds, exactly. */
export function float16Value(bits: number): number {
  const e = (bits >>> 10) & 0x1f
  const frac = bits & 0x3ff
  let v: number
  if (e === 0x1f) v = frac === 0 ? Infinity : NaN
  else v = (e === 0 ? frac : frac + 1024) * UNIT[e]
  return bits & 0x8000 ? -v : v
}

/** The bfloat16 bit pattern of `x`'s float32 value rounded to nearest even; NaN stays NaN. */
export function bfloat16Bits(x: number): number {
  if (x !== x) {
    f64[0] = x
    return ((f64Words[HI] >>> 16) & 0x8000) | 0x7fc0
  }
  f32[0] = x
  const b = f32Bits[0]
  return ((b + 0x7fff + ((b >>> 16) & 1)) / 0x10000) & 0xffff
}

/** The number a bfloat16 bit pattern holds, exactly. */
export function bfloat16Value(bits: number): number {
  f32Bits[0] = (bits & 0xffff) << 16
  return f32[0]
}
