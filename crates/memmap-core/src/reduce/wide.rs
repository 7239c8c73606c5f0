//! float16 and bfloat16, reduced in f32 and f64.
//!
//! Every float16 and bfloat16 value is exactly a float32, so min, max and std widen a chunk
//! into a per-thread f32 buffer and run the float kernels on it. The sum, the one reduction
//! that has to run at memory bandwidth, widens and adds in one pass instead: blocks of [`SUB`]
//! elements, each summed in f64 across 16 lanes (enough independent additions to keep up with
//! memory), the block sums combined pairwise. On x86-64 with F16C (float16) or AVX (bfloat16)
//! the block loop is the same loop written with those instructions, chosen at run time; anywhere
//! else it is portable code (float16 through `half`'s slice conversion, which uses the FP16
//! instructions of aarch64 where present). Every path adds the same values in the same order, so
//! every path gives the same bits, and so does [`wide_sum`] of the chunk widened for `stats`.

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

/// bfloat16 is the top half of a float32: a shift, which the compiler vectorises.
#[inline(always)]
fn bf16_to_f32(x: bf16) -> f32 {
    f32::from_bits(u32::from(x.to_bits()) << 16)
}

fn widen_bf16(a: &[bf16], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = bf16_to_f32(x);
    }
}

/// The 16 lanes of a block combined as the F16C kernel's four registers are (lane `4k + j` is
/// register `k`'s element `j`), then the block's last `len % 16` values added in order.
#[inline(always)]
fn combine(acc: &[f64; 16], rest: impl Iterator<Item = f64>) -> f64 {
    let s: [f64; 4] = std::array::from_fn(|j| (acc[j] + acc[4 + j]) + (acc[8 + j] + acc[12 + j]));
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for x in rest {
        t += x;
    }
    t
}

/// A block's sum: element `16 i + 4 k + j` goes to lane `4 k + j`.
#[inline(always)]
fn lanes<T: Copy>(a: &[T], widen: impl Fn(T) -> f32) -> f64 {
    let mut acc = [[0.0f64; 4]; 4];
    let body = a.chunks_exact(16);
    let rest = body.remainder();
    for c in body {
        for (k, r) in acc.iter_mut().enumerate() {
            for (j, r) in r.iter_mut().enumerate() {
                *r += f64::from(widen(c[4 * k + j]));
            }
        }
    }
    combine(
        bytemuck::cast_ref(&acc),
        rest.iter().map(|&x| f64::from(widen(x))),
    )
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
    lanes(buf, |x| x)
}

/// [`f16_block`]'s result, widening four elements at a time with F16C's `vcvtph2ps` and adding
/// into four registers of four f64 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
fn f16_block_f16c(a: &[f16]) -> f64 {
    use std::arch::x86_64::{__m256d, _mm256_add_pd, _mm256_cvtps_pd, _mm256_setzero_pd};
    use std::arch::x86_64::{_mm_cvtph_ps, _mm_cvtsi64_si128};
    let mut acc = [_mm256_setzero_pd(); 4];
    let body = a.chunks_exact(16);
    let rest = body.remainder();
    for c in body {
        for (k, r) in acc.iter_mut().enumerate() {
            let q: [f16; 4] = [c[4 * k], c[4 * k + 1], c[4 * k + 2], c[4 * k + 3]];
            let h = _mm_cvtsi64_si128(bytemuck::cast::<[f16; 4], i64>(q));
            *r = _mm256_add_pd(*r, _mm256_cvtps_pd(_mm_cvtph_ps(h)));
        }
    }
    let lanes: [f64; 16] = bytemuck::cast::<[__m256d; 4], [f64; 16]>(acc);
    combine(&lanes, rest.iter().map(|&x| x.to_f64()))
}

/// A block of bfloat16 summed in portable code.
fn bf16_block(a: &[bf16]) -> f64 {
    lanes(a, bf16_to_f32)
}

/// [`bf16_block`]'s result, widening four elements at a time (zero-extended to 32 bits and
/// shifted into a float32's top half) and adding into four registers of four f64 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn bf16_block_avx(a: &[bf16]) -> f64 {
    use std::arch::x86_64::_mm_slli_epi32;
    use std::arch::x86_64::{__m256d, _mm256_add_pd, _mm256_cvtps_pd, _mm256_setzero_pd};
    use std::arch::x86_64::{_mm_castsi128_ps, _mm_cvtepu16_epi32, _mm_cvtsi64_si128};
    let mut acc = [_mm256_setzero_pd(); 4];
    let body = a.chunks_exact(16);
    let rest = body.remainder();
    for c in body {
        for (k, r) in acc.iter_mut().enumerate() {
            let q: [bf16; 4] = [c[4 * k], c[4 * k + 1], c[4 * k + 2], c[4 * k + 3]];
            let h = _mm_cvtsi64_si128(bytemuck::cast::<[bf16; 4], i64>(q));
            let f = _mm_castsi128_ps(_mm_slli_epi32::<16>(_mm_cvtepu16_epi32(h)));
            *r = _mm256_add_pd(*r, _mm256_cvtps_pd(f));
        }
    }
    let lanes: [f64; 16] = bytemuck::cast::<[__m256d; 4], [f64; 16]>(acc);
    combine(&lanes, rest.iter().map(|&x| f64::from(bf16_to_f32(x))))
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
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, the feature the function is compiled for (checked above).
        return blocks(a, |b| unsafe { bf16_block_avx(b) });
    }
    bf16_sum_portable(a)
}

/// The sum of a widened chunk, to the bit what the element's `chunk_sum` gives.
fn wide_sum(w: &[f32]) -> f64 {
    blocks(w, |b| lanes(b, |x| x))
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
