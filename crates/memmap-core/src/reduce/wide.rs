//! float16 and bfloat16, reduced in f32 and f64.
//!
//! Every float16 and bfloat16 value is exactly a float32, so min, max and std widen a chunk
//! into a per-thread f32 buffer and run the float kernels on it. The sum, the one reduction
//! that has to run at memory bandwidth, widens and adds in one pass instead: blocks of [`SUB`]
//! elements, each summed by [`pairs`] (pairs of elements added in f32, the pair sums in 16 f64
//! lanes), the block sums combined pairwise. On x86-64 with F16C (float16) or AVX2 (bfloat16)
//! the block loop is the same arithmetic written with those instructions, chosen at run time;
//! anywhere else it is portable code (float16 through `half`'s slice conversion, which uses the
//! FP16 instructions of aarch64 where present). Every path adds the same values in the same
//! order, so every path gives the same bits, and so does [`wide_sum`] of the chunk widened for
//! `stats`.
//!
//! Measured on one core of the development machine (AMD EPYC, AVX2, 2026-11): widening each
//! element to f64 runs at about 17 GB/s of float16, below the ~27 GB/s one core reads from
//! memory (the f32 to f64 conversions are the bottleneck); adding pairs in f32 first halves them
//! and reaches about 25 GB/s (float16) and 22 GB/s (bfloat16).

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use super::{pairwise_f64, Element, Sum};

/// Elements per block of the sum: 4 KiB as f32, so a widened block stays in L1.
const SUB: usize = 1024;

thread_local! {
    /// Each thread's buffer for a widened chunk (at most `CHUNK_BYTES / 2` elements: 256 KiB,
    /// in L2 with the chunk). Allocated once per thread, not per chunk: a fresh allocation of
    /// this size would be a fresh mmap, and page faults, every time.
    // It is const: clippy misreads the OS-key expansion std uses on windows-gnu and says
    // otherwise (as for src/error.rs's ENV).
    #[allow(clippy::missing_const_for_thread_local)]
    static WIDE: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Widens `a` into this thread's buffer with `convert` and calls `f` on it.
fn widened<T, R>(
    a: &[T],
    convert: impl FnOnce(&[T], &mut [f32]),
    f: impl FnOnce(&[f32]) -> R,
) -> R {
    WIDE.with(|cell| {
        // Not reentrant: `f` is one of the chunk kernels, which never reduce another chunk. If it
        // ever did, `try_borrow_mut` fails and a private buffer keeps the answer right.
        let mut own = Vec::new();
        let mut shared = cell.try_borrow_mut();
        let buf = match shared.as_deref_mut() {
            Ok(b) => b,
            Err(_) => &mut own,
        };
        buf.resize(a.len(), 0.0);
        convert(a, &mut buf[..a.len()]);
        f(&buf[..a.len()])
    })
}

fn widen_f16(a: &[f16], out: &mut [f32]) {
    // half's slice conversion uses F16C (x86) or FP16 (aarch64) when the CPU has them, detected
    // at run time, and an exact software conversion otherwise.
    a.convert_to_f32_slice(out);
}

/// bfloat16 is the top half of a float32: a shift.
#[inline(always)]
fn bf16_to_f32(x: bf16) -> f32 {
    f32::from_bits(u32::from(x.to_bits()) << 16)
}

fn widen_bf16(a: &[bf16], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = bf16_to_f32(x);
    }
}

/// The 16 lanes of a block combined as the x86 kernels' four registers are (lane `4 r + j` is
/// register `r`'s element `j`), then the block's last `len % 32` values added in order.
#[inline(always)]
fn combine(acc: &[f64; 16], rest: impl Iterator<Item = f64>) -> f64 {
    let s: [f64; 4] = std::array::from_fn(|j| (acc[j] + acc[4 + j]) + (acc[8 + j] + acc[12 + j]));
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for x in rest {
        t += x;
    }
    t
}

/// A block's sum with every element widened to f64 and added in order: the IEEE answer for
/// infinities and NaN, and for float32 overflow. [`pairs`] falls back to it for such blocks.
#[cold]
fn exact<T: Copy>(a: &[T], widen: impl Fn(T) -> f32) -> f64 {
    a.iter().fold(0.0, |s, &x| s + f64::from(widen(x)))
}

/// A block's sum: in each group of 32 elements, element `16 k + j` (`j < 8`) is added to element
/// `16 k + 8 + j` in f32, and that pair's sum to f64 lane `8 k + j`. The pair's addition is the
/// one rounding to float32: at most 2^-24 of the pair, and none when the two exponents are
/// within 12 (float16, 11-bit significands) or 15 (bfloat16, 8 bits) of each other, since the
/// exact sum then fits float32's 24 bits; all else is f64. Halving the f32 to
/// f64 conversions is what lets one core keep up with memory. A block whose sum is not finite
/// (an infinity, a NaN, or a bfloat16 pair beyond float32's range) is summed by [`exact`].
#[inline(always)]
fn pairs<T: Copy>(a: &[T], widen: impl Fn(T) -> f32) -> f64 {
    let mut acc = [0.0f64; 16];
    let body = a.chunks_exact(32);
    let rest = body.remainder();
    for c in body {
        for k in 0..2 {
            for j in 0..8 {
                acc[8 * k + j] += f64::from(widen(c[16 * k + j]) + widen(c[16 * k + 8 + j]));
            }
        }
    }
    let s = combine(&acc, rest.iter().map(|&x| f64::from(widen(x))));
    if s.is_finite() {
        s
    } else {
        exact(a, widen)
    }
}

/// A chunk's sum: its blocks' sums, combined pairwise.
fn blocks<T>(a: &[T], block: impl Fn(&[T]) -> f64) -> f64 {
    let sums: Vec<f64> = a.chunks(SUB).map(block).collect();
    pairwise_f64(&sums)
}

/// A block of float16 summed in portable code: widened into a buffer on the stack, then added.
fn f16_block(a: &[f16]) -> f64 {
    let mut buf = [0.0f32; SUB];
    let buf = &mut buf[..a.len()];
    widen_f16(a, buf);
    pairs(buf, |x| x)
}

/// [`f16_block`]'s result with F16C: eight elements widened by one `vcvtph2ps`, the pairs added
/// in f32, each half of the eight sums widened and added into an f64 register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
fn f16_block_f16c(a: &[f16]) -> f64 {
    use std::arch::x86_64::{
        __m128i, __m256d, _mm256_add_pd, _mm256_add_ps, _mm256_castps256_ps128,
    };
    use std::arch::x86_64::{
        _mm256_cvtph_ps, _mm256_cvtps_pd, _mm256_extractf128_ps, _mm256_setzero_pd,
    };
    let mut acc = [_mm256_setzero_pd(); 4];
    let body = a.chunks_exact(32);
    let rest = body.remainder();
    let eight = |c: &[f16]| -> __m128i {
        let e: [f16; 8] = std::array::from_fn(|i| c[i]);
        bytemuck::cast(e)
    };
    for c in body {
        for k in 0..2 {
            let x = _mm256_cvtph_ps(eight(&c[16 * k..]));
            let y = _mm256_cvtph_ps(eight(&c[16 * k + 8..]));
            let s = _mm256_add_ps(x, y);
            acc[2 * k] = _mm256_add_pd(acc[2 * k], _mm256_cvtps_pd(_mm256_castps256_ps128(s)));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(s));
            acc[2 * k + 1] = _mm256_add_pd(acc[2 * k + 1], hi);
        }
    }
    let lanes: [f64; 16] = bytemuck::cast::<[__m256d; 4], [f64; 16]>(acc);
    let s = combine(&lanes, rest.iter().map(|&x| x.to_f64()));
    if s.is_finite() {
        s
    } else {
        exact(a, f16::to_f32)
    }
}

/// A block of bfloat16 summed in portable code.
fn bf16_block(a: &[bf16]) -> f64 {
    pairs(a, bf16_to_f32)
}

/// [`bf16_block`]'s result with AVX2: eight elements zero-extended to 32 bits and shifted into
/// the top half (a float32's bits), the pairs added in f32, each half of the eight sums widened
/// and added into an f64 register. (The portable loop compiled for AVX2 is not vectorised.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn bf16_block_avx2(a: &[bf16]) -> f64 {
    use std::arch::x86_64::_mm256_slli_epi32;
    use std::arch::x86_64::{__m128i, __m256, __m256d, _mm256_add_pd, _mm256_add_ps};
    use std::arch::x86_64::{_mm256_castps256_ps128, _mm256_castsi256_ps, _mm256_cvtepu16_epi32};
    use std::arch::x86_64::{_mm256_cvtps_pd, _mm256_extractf128_ps, _mm256_setzero_pd};
    let mut acc = [_mm256_setzero_pd(); 4];
    let body = a.chunks_exact(32);
    let rest = body.remainder();
    let eight = |c: &[bf16]| -> __m256 {
        let e: [bf16; 8] = std::array::from_fn(|i| c[i]);
        let bits = bytemuck::cast::<[bf16; 8], __m128i>(e);
        _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(bits)))
    };
    for c in body {
        for k in 0..2 {
            let s = _mm256_add_ps(eight(&c[16 * k..]), eight(&c[16 * k + 8..]));
            acc[2 * k] = _mm256_add_pd(acc[2 * k], _mm256_cvtps_pd(_mm256_castps256_ps128(s)));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(s));
            acc[2 * k + 1] = _mm256_add_pd(acc[2 * k + 1], hi);
        }
    }
    let lanes: [f64; 16] = bytemuck::cast::<[__m256d; 4], [f64; 16]>(acc);
    let s = combine(&lanes, rest.iter().map(|&x| f64::from(bf16_to_f32(x))));
    if s.is_finite() {
        s
    } else {
        exact(a, bf16_to_f32)
    }
}

/// The float16 chunk sum on the portable path, whatever the CPU (the tests compare the paths).
pub(super) fn f16_sum_portable(a: &[f16]) -> f64 {
    blocks(a, f16_block)
}

/// The bfloat16 chunk sum on the portable path, whatever the CPU.
pub(super) fn bf16_sum_portable(a: &[bf16]) -> f64 {
    blocks(a, bf16_block)
}

fn f16_sum(a: &[f16]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX and F16C, the features the function is compiled for (checked
        // just above; the checks are cached, a load each).
        return blocks(a, |b| unsafe { f16_block_f16c(b) });
    }
    f16_sum_portable(a)
}

fn bf16_sum(a: &[bf16]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the feature the function is compiled for (checked above).
        return blocks(a, |b| unsafe { bf16_block_avx2(b) });
    }
    bf16_sum_portable(a)
}

/// The sum of a widened chunk, to the bit what the element's `chunk_sum` gives.
fn wide_sum(w: &[f32]) -> f64 {
    blocks(w, |b| pairs(b, |x| x))
}

macro_rules! half_element {
    ($t:ty, $widen:ident, $sum:ident) => {
        impl Element for $t {
            const FLOAT: bool = true;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                <$t>::to_f64(self)
            }
            fn to_i128(self) -> i128 {
                <$t>::to_f64(self) as i128
            }
            type Wide = f32;
            fn with_wide<R>(a: &[Self], f: impl FnOnce(&[f32]) -> R) -> R {
                widened(a, $widen, f)
            }
            #[inline(always)]
            fn from_wide(w: f32) -> Self {
                <$t>::from_f32(w)
            }
            fn chunk_sum(a: &[Self]) -> Sum {
                Sum::Float($sum(a))
            }
            fn wide_sum(w: &[f32]) -> Sum {
                Sum::Float(wide_sum(w))
            }
        }
    };
}
half_element!(f16, widen_f16, f16_sum);
half_element!(bf16, widen_bf16, bf16_sum);
