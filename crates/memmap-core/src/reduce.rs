//! Reductions over a mapped slice at memory bandwidth, with numpy's results.
//!
//! The slice is cut into chunks small enough to stay in cache. Each chunk is reduced on its
//! own (in parallel on rayon's persistent pool once the slice is large enough to pay for it);
//! the chunk results are then combined in order, so the answer does not depend on the number of
//! threads. Floats are summed pairwise inside a chunk (numpy's scheme) and the chunk sums
//! pairwise again; integers are summed exactly in `i128`. `std` reads memory once: each chunk
//! computes its mean and squared deviations while it is in cache, and chunks are merged with
//! Chan et al.'s formula. [`stats`] computes every reduction from one read of memory: each
//! chunk's sum, moments, minimum and maximum while it is in cache, combined by the same merges,
//! so its results are the single reductions' to the bit. float16 and bfloat16 are reduced as
//! float32 (exactly their values), their sums with pairs of elements added in float32 and the
//! rest in f64, near memory bandwidth on one core (`reduce/wide.rs`).

use rayon::prelude::*;

/// The float16 and bfloat16 element types (the `half` crate's), for callers naming them.
pub use half::{bf16, f16};

use crate::{Advice, Mapping, Result};

/// Bytes per chunk: fits in L2 with room to spare, so a chunk's second pass (std) is a cache hit.
const CHUNK_BYTES: usize = 128 * 1024;
/// Below this the work is done on the calling thread: waking the pool costs more than it saves.
const PARALLEL_BYTES: usize = 8 * 1024 * 1024;
/// numpy's pairwise block.
const BLOCK: usize = 128;
/// Chunks per segment of [`stats_of`] (64 MiB): the pass reports progress, and releases the
/// pages it has read, once per segment. A whole number of chunks, so that segments cut the data
/// into the same chunks as one pass over all of it does.
const SEGMENT_CHUNKS: usize = 512;

/// An element type the reductions know.
pub trait Element: bytemuck::Pod + Send + Sync + PartialOrd {
    /// Whether this is a float (NaN propagates through min/max).
    const FLOAT: bool;
    fn to_f64(self) -> f64;
    /// Exact for every integer type; floats are never asked.
    fn to_i128(self) -> i128;
    /// The type a chunk is reduced as: the element itself, or for float16 and bfloat16, f32
    /// (every value of theirs is exactly a float32), so that the chunk kernels run on hardware
    /// floats and vectorise.
    type Wide: Element;
    /// Calls `f` with the chunk as [`Self::Wide`]: `a` itself, or a widened copy.
    fn with_wide<R>(a: &[Self], f: impl FnOnce(&[Self::Wide]) -> R) -> R;
    /// The element whose widened value is `w` (exact: `w` came from [`Self::with_wide`]).
    fn from_wide(w: Self::Wide) -> Self;
    /// One chunk's sum: pairwise for floats, exact for integers; float16 and bfloat16 add their
    /// widened values in f64 (`wide.rs`).
    fn chunk_sum(a: &[Self]) -> Sum;
    /// [`Self::chunk_sum`] of a chunk given widened, to the bit.
    fn wide_sum(w: &[Self::Wide]) -> Sum;
}

macro_rules! element {
    ($float:literal: $($t:ty),*) => {$(
        impl Element for $t {
            const FLOAT: bool = $float;
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn to_i128(self) -> i128 { self as i128 }
            type Wide = $t;
            #[inline(always)]
            fn with_wide<R>(a: &[$t], f: impl FnOnce(&[$t]) -> R) -> R { f(a) }
            #[inline(always)]
            fn from_wide(w: $t) -> $t { w }
            fn chunk_sum(a: &[$t]) -> Sum { chunk_sum(a) }
            fn wide_sum(w: &[$t]) -> Sum { chunk_sum(w) }
        }
    )*};
}
element!(false: i8, u8, i16, u16, i32, u32, i64, u64);
element!(true: f32, f64);

mod wide;

/// A sum: exact for integers, pairwise for floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sum {
    Int(i128),
    Float(f64),
}

impl Sum {
    pub fn to_f64(self) -> f64 {
        match self {
            Sum::Int(i) => i as f64,
            Sum::Float(f) => f,
        }
    }
}

/// Every reduction of one array from one read of memory: what `memmap stats` shows. Each field
/// is what the single reduction of the same name returns, to the bit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats<T> {
    /// Number of elements.
    pub count: usize,
    /// As [`sum`]: 0 when empty.
    pub sum: Sum,
    /// As [`mean`]: NaN when empty.
    pub mean: f64,
    /// As [`std()`] (population, ddof 0): NaN when empty.
    pub std: f64,
    /// As [`min`]: NaN if any element is NaN, `None` when empty.
    pub min: Option<T>,
    /// As [`max`]: NaN if any element is NaN, `None` when empty.
    pub max: Option<T>,
}

fn chunk_len<T>() -> usize {
    (CHUNK_BYTES / std::mem::size_of::<T>()).max(BLOCK)
}

/// Per-chunk results in order, computed in parallel when the slice is large.
fn per_chunk<T: Element, R: Send>(data: &[T], f: impl Fn(&[T]) -> R + Sync + Send) -> Vec<R> {
    let chunk = chunk_len::<T>();
    if std::mem::size_of_val(data) < PARALLEL_BYTES {
        data.chunks(chunk).map(f).collect()
    } else {
        data.par_chunks(chunk).map(f).collect()
    }
}

/// numpy's pairwise summation: eight accumulators up to `BLOCK` elements, halves above.
fn pairwise<T: Element>(a: &[T]) -> f64 {
    let n = a.len();
    if n < 8 {
        return a.iter().fold(0.0, |s, &x| s + x.to_f64());
    }
    if n <= BLOCK {
        let mut r = [0.0f64; 8];
        let (body, rest) = a.split_at(n - n % 8);
        for c in body.chunks_exact(8) {
            for k in 0..8 {
                r[k] += c[k].to_f64();
            }
        }
        let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in rest {
            s += x.to_f64();
        }
        return s;
    }
    let mut half = n / 2;
    half -= half % 8;
    pairwise(&a[..half]) + pairwise(&a[half..])
}

/// Pairwise over already-reduced values (the chunk sums).
fn pairwise_f64(a: &[f64]) -> f64 {
    match a.len() {
        0 => 0.0,
        1 => a[0],
        n => pairwise_f64(&a[..n / 2]) + pairwise_f64(&a[n / 2..]),
    }
}

fn int_sum<T: Element>(a: &[T]) -> i128 {
    // i64 lanes cannot overflow for 32-bit and smaller types within a chunk (2^15 elements of
    // at most 2^32); 64-bit types go straight to i128.
    if std::mem::size_of::<T>() <= 4 {
        let mut r = [0i64; 8];
        let (body, rest) = a.split_at(a.len() - a.len() % 8);
        for c in body.chunks_exact(8) {
            for k in 0..8 {
                r[k] += c[k].to_i128() as i64;
            }
        }
        let s: i64 = r.iter().sum::<i64>() + rest.iter().map(|x| x.to_i128() as i64).sum::<i64>();
        s as i128
    } else {
        a.iter().map(|x| x.to_i128()).sum()
    }
}

/// One chunk's sum: pairwise for floats, exact for integers.
fn chunk_sum<T: Element>(a: &[T]) -> Sum {
    if T::FLOAT {
        Sum::Float(pairwise(a))
    } else {
        Sum::Int(int_sum(a))
    }
}

/// The chunk sums combined: pairwise for floats, exactly for integers.
fn total<T: Element>(sums: impl Iterator<Item = Sum>) -> Sum {
    if T::FLOAT {
        Sum::Float(pairwise_f64(&sums.map(Sum::to_f64).collect::<Vec<_>>()))
    } else {
        Sum::Int(
            sums.map(|s| match s {
                Sum::Int(i) => i,
                Sum::Float(f) => f as i128, // never: integer chunks sum to `Sum::Int`
            })
            .sum(),
        )
    }
}

pub fn sum<T: Element>(data: &[T]) -> Sum {
    total::<T>(per_chunk(data, T::chunk_sum).into_iter())
}

fn mean_of(sum: Sum, count: usize) -> f64 {
    if count == 0 {
        return f64::NAN;
    }
    sum.to_f64() / count as f64
}

/// Arithmetic mean; NaN when empty.
pub fn mean<T: Element>(data: &[T]) -> f64 {
    mean_of(sum(data), data.len())
}

/// A chunk's (count, mean, sum of squared deviations from the mean).
type Moments = (f64, f64, f64);

/// The moments of a chunk whose pairwise sum is `pairwise_sum`: a second pass over cached data.
fn moments<T: Element>(a: &[T], pairwise_sum: f64) -> Moments {
    let n = a.len() as f64;
    let m = pairwise_sum / n;
    let mut r = [0.0f64; 4];
    let (body, rest) = a.split_at(a.len() - a.len() % 4);
    for c in body.chunks_exact(4) {
        for k in 0..4 {
            let d = c[k].to_f64() - m;
            r[k] += d * d;
        }
    }
    let mut m2 = (r[0] + r[1]) + (r[2] + r[3]);
    for &x in rest {
        let d = x.to_f64() - m;
        m2 += d * d;
    }
    (n, m, m2)
}

/// The moments of a widened chunk, about the mean its [`Element::wide_sum`] gives (for
/// integers, about its pairwise float sum).
fn wide_moments<T: Element>(w: &[T::Wide]) -> Moments {
    let s = match T::wide_sum(w) {
        Sum::Float(s) => s,
        Sum::Int(_) => pairwise(w),
    };
    moments(w, s)
}

/// Chan, Golub & LeVeque's pairwise update of the chunk moments, merged as a balanced tree,
/// then the population standard deviation; NaN when there are no chunks.
fn std_of(parts: &[Moments]) -> f64 {
    fn merge(p: &[Moments]) -> Moments {
        if p.len() == 1 {
            return p[0];
        }
        let (na, ma, m2a) = merge(&p[..p.len() / 2]);
        let (nb, mb, m2b) = merge(&p[p.len() / 2..]);
        let n = na + nb;
        let delta = mb - ma;
        (
            n,
            ma + delta * nb / n,
            m2a + m2b + delta * delta * na * nb / n,
        )
    }
    if parts.is_empty() {
        return f64::NAN;
    }
    let (n, _, m2) = merge(parts);
    (m2 / n).sqrt()
}

/// Population standard deviation (ddof = 0, numpy's default); NaN when empty.
pub fn std<T: Element>(data: &[T]) -> f64 {
    std_of(&per_chunk(data, |a| T::with_wide(a, wide_moments::<T>)))
}

/// The smallest (`MAX = false`) or largest element of one chunk. Eight independent lanes so the
/// compiler vectorises the compare-and-select; NaN is tracked per lane the same way and, if any
/// is seen, a scalar pass returns it (numpy propagates NaN).
#[allow(clippy::eq_op)] // `x != x` is how a generic float says "is NaN"
fn extreme_chunk<T: Element, const MAX: bool>(a: &[T]) -> Option<T> {
    let first = *a.first()?;
    let mut m = [first; 8];
    let mut nan = [false; 8];
    let body = a.chunks_exact(8);
    let rest = body.remainder();
    for c in body {
        for k in 0..8 {
            let x = c[k];
            if T::FLOAT {
                nan[k] |= x != x;
            }
            let better = if MAX { x > m[k] } else { x < m[k] };
            m[k] = if better { x } else { m[k] };
        }
    }
    if T::FLOAT && (nan.contains(&true) || rest.iter().any(|&x| x != x) || first != first) {
        return a.iter().copied().find(|&x| x != x);
    }
    let mut best = m[0];
    for &x in m[1..].iter().chain(rest) {
        if (MAX && x > best) || (!MAX && x < best) {
            best = x;
        }
    }
    Some(best)
}

/// Combines chunk results in order; a NaN from any chunk wins.
#[allow(clippy::eq_op)]
fn extreme_of<T: Element, const MAX: bool>(parts: impl Iterator<Item = Option<T>>) -> Option<T> {
    parts.flatten().reduce(|a, b| {
        if T::FLOAT && a != a {
            a
        } else if (T::FLOAT && b != b) || (MAX && b > a) || (!MAX && b < a) {
            b
        } else {
            a
        }
    })
}

/// The element of `a` that a chunk kernel's widened result `w` stands for: `w` narrowed (exact),
/// or if `w` is NaN the first NaN of `a` itself, so that its bits come back as they are (widening
/// quiets a signalling NaN).
#[allow(clippy::eq_op)] // `x != x` is how a generic float says "is NaN"
fn narrow<T: Element>(a: &[T], w: T::Wide) -> T {
    if T::FLOAT && w != w {
        if let Some(&nan) = a.iter().find(|&&x| x != x) {
            return nan;
        }
    }
    T::from_wide(w)
}

/// One chunk's extreme, found among its widened values.
fn extreme_wide<T: Element, const MAX: bool>(a: &[T]) -> Option<T> {
    let w = T::with_wide(a, extreme_chunk::<T::Wide, MAX>)?;
    Some(narrow(a, w))
}

pub fn min<T: Element>(data: &[T]) -> Option<T> {
    extreme_of::<T, false>(per_chunk(data, extreme_wide::<T, false>).into_iter())
}

pub fn max<T: Element>(data: &[T]) -> Option<T> {
    extreme_of::<T, true>(per_chunk(data, extreme_wide::<T, true>).into_iter())
}

/// Everything [`stats`] needs of one chunk, computed while it is in cache.
struct Part<T> {
    sum: Sum,
    moments: Moments,
    min: Option<T>,
    max: Option<T>,
}

/// One chunk's part, computed on the chunk widened once.
fn part<T: Element>(a: &[T]) -> Part<T> {
    T::with_wide(a, |w| {
        let sum = T::wide_sum(w);
        let pairwise_sum = match sum {
            Sum::Float(s) => s,
            Sum::Int(_) => pairwise(w),
        };
        Part {
            sum,
            moments: moments(w, pairwise_sum),
            min: extreme_chunk::<T::Wide, false>(w).map(|m| narrow(a, m)),
            max: extreme_chunk::<T::Wide, true>(w).map(|m| narrow(a, m)),
        }
    })
}

/// The chunk results of `count` elements combined by the single reductions' merges.
fn combine<T: Element>(count: usize, parts: &[Part<T>]) -> Stats<T> {
    let sum = total::<T>(parts.iter().map(|p| p.sum));
    Stats {
        count,
        sum,
        mean: mean_of(sum, count),
        std: std_of(&parts.iter().map(|p| p.moments).collect::<Vec<_>>()),
        min: extreme_of::<T, false>(parts.iter().map(|p| p.min)),
        max: extreme_of::<T, true>(parts.iter().map(|p| p.max)),
    }
}

/// Count, sum, mean, std, min and max from one read of memory; each is what the single
/// reduction returns.
pub fn stats<T: Element>(data: &[T]) -> Stats<T> {
    combine(data.len(), &per_chunk(data, part))
}

/// [`stats`] of a whole mapping read as `T`, as a single pass that a file larger than memory
/// survives: the kernel is told the pass is sequential and asked for the next 64 MiB segment
/// ahead, and each segment's pages are released once read ([`Advice::DontNeed`]: see
/// [`Mapping::advise`] for what that does in each mode), so the pass keeps about two segments of
/// the file in this process however large it is; the advice is back to `Normal` afterwards.
/// Mappings of one segment or less are left alone. `progress(bytes)` is called on the calling thread after each segment with the bytes
/// reduced so far. The result is [`stats`]'s of the whole slice, to the bit.
///
/// Fails as [`Mapping::as_slice`] does (alignment, a length that is not a whole number of `T`).
///
/// # Safety
/// As for [`Mapping::as_slice`]: nothing may write the mapped bytes while this runs.
pub unsafe fn stats_of<T: Element>(map: &Mapping, progress: impl FnMut(usize)) -> Result<Stats<T>> {
    // SAFETY: the caller's promise (this function's contract).
    unsafe { stats_in_segments(map, SEGMENT_CHUNKS, progress) }
}

/// [`stats_of`] with segments of `chunks` chunks (the tests use small ones).
///
/// # Safety
/// As for [`stats_of`].
unsafe fn stats_in_segments<T: Element>(
    map: &Mapping,
    chunks: usize,
    mut progress: impl FnMut(usize),
) -> Result<Stats<T>> {
    let size = std::mem::size_of::<T>();
    let segment = chunk_len::<T>() * chunks;
    // SAFETY: the caller's promise (this function's contract).
    let len = unsafe { map.as_slice::<T>() }?.len();
    let streamed = len > segment;
    let hint = |advice: Advice, from: usize, to: usize| {
        if streamed {
            // Only a hint: the pass is right without it, so a refusal is not an error.
            let _ = map.advise_range(advice, from * size, (to - from) * size);
        }
    };
    hint(Advice::Sequential, 0, len);
    let mut parts = Vec::with_capacity(len.div_ceil(chunk_len::<T>()));
    for start in (0..len).step_by(segment) {
        let end = (start + segment).min(len);
        hint(Advice::WillNeed, end, (end + segment).min(len));
        {
            // SAFETY: the caller's promise, as above. This slice lives for this segment only and
            // is gone before the segment's pages are released below, so no reference observes
            // what DontNeed does to them.
            let data = unsafe { map.as_slice::<T>() }?;
            parts.extend(per_chunk(&data[start..end], part));
        }
        hint(Advice::DontNeed, start, end);
        progress(end * size);
    }
    hint(Advice::Normal, 0, len);
    Ok(combine(len, &parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normals(n: usize) -> Vec<f64> {
        let mut s: u64 = 0x9e3779b97f4a7c15;
        let mut u = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let (a, b) = (u().max(1e-300), u());
                (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
            })
            .collect()
    }

    fn naive_exact_sum(a: &[f64]) -> f64 {
        // Neumaier's compensated sum as the reference.
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for &x in a {
            let t = s + x;
            c += if s.abs() >= x.abs() {
                (s - t) + x
            } else {
                (x - t) + s
            };
            s = t;
        }
        s + c
    }

    #[test]
    fn float_sum_mean_std_are_accurate_serial_and_parallel() {
        for n in [0usize, 1, 7, 8, 127, 128, 129, 5000, 3_000_001] {
            let a = normals(n);
            let want = naive_exact_sum(&a);
            let got = sum(&a).to_f64();
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "n={n}: {got} vs {want}"
            );
            if n > 0 {
                let m = want / n as f64;
                let var = a.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
                assert!(
                    (std(&a) - var.sqrt()).abs() <= 1e-12 * var.sqrt().max(1e-300),
                    "n={n}"
                );
                assert!((mean(&a) - m).abs() <= 1e-12 * m.abs().max(1e-3));
            }
        }
        assert!(mean::<f64>(&[]).is_nan());
        assert!(std::<f32>(&[]).is_nan());
    }

    #[test]
    fn std_survives_a_large_offset() {
        let a: Vec<f64> = (0..1_000_000).map(|i| 1e9 + (i % 2) as f64).collect();
        assert!((std(&a) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn integer_sums_are_exact() {
        let a = vec![u32::MAX; 3_000_000];
        assert_eq!(sum(&a), Sum::Int(u32::MAX as i128 * 3_000_000));
        let b = vec![i64::MAX; 4];
        assert_eq!(sum(&b), Sum::Int(i64::MAX as i128 * 4));
        let c = vec![u64::MAX; 3];
        assert_eq!(sum(&c), Sum::Int(u64::MAX as i128 * 3));
        let d: Vec<i8> = (0..2_000_000)
            .map(|i| if i % 2 == 0 { -128 } else { 127 })
            .collect();
        assert_eq!(sum(&d), Sum::Int(-1_000_000));
        assert_eq!(sum::<u16>(&[]), Sum::Int(0));
        assert_eq!(mean(&[1u8, 2, 3, 4]), 2.5);
    }

    #[test]
    fn min_max_with_nan_and_empty() {
        let mut a = normals(2_000_000);
        a[1_500_000] = 99.0;
        a[10] = -99.0;
        assert_eq!(max(&a), Some(99.0));
        assert_eq!(min(&a), Some(-99.0));
        a[1_999_999] = f64::NAN;
        assert!(max(&a).unwrap().is_nan());
        assert!(min(&a).unwrap().is_nan());
        for at in [0usize, 3, 16, 19] {
            let mut b: Vec<f32> = (0..20).map(|i| i as f32).collect();
            b[at] = f32::NAN;
            assert!(min(&b).unwrap().is_nan(), "NaN at {at}");
            assert!(max(&b).unwrap().is_nan(), "NaN at {at}");
        }
        assert_eq!(min::<i32>(&[]), None);
        assert_eq!(max(&[3u64, u64::MAX, 0]), Some(u64::MAX));
        assert_eq!(min(&[-5i16, 7, -6]), Some(-6));
        assert_eq!(max(&[1.5f32, -2.0]), Some(1.5));
    }

    /// Bitwise equality, NaN included (`Stats` is `PartialEq`, where NaN != NaN).
    fn same<T: Element + std::fmt::Debug>(a: &Stats<T>, b: &Stats<T>) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    /// The stats the single reductions give.
    fn singles<T: Element>(a: &[T]) -> Stats<T> {
        Stats {
            count: a.len(),
            sum: sum(a),
            mean: mean(a),
            std: std(a),
            min: min(a),
            max: max(a),
        }
    }

    #[test]
    fn stats_are_the_single_reductions_to_the_bit() {
        for n in [0usize, 1, 7, 129, 16_385, 3_000_001] {
            let a = normals(n);
            assert!(same(&stats(&a), &singles(&a)), "f64 n={n}");
            let f: Vec<f32> = a.iter().map(|&x| x as f32).collect();
            assert!(same(&stats(&f), &singles(&f)), "f32 n={n}");
            let i: Vec<i64> = a.iter().map(|&x| (x * 1e17) as i64).collect();
            assert!(same(&stats(&i), &singles(&i)), "i64 n={n}");
            let u: Vec<u8> = a.iter().map(|&x| (x * 40.0 + 128.0) as u8).collect();
            assert!(same(&stats(&u), &singles(&u)), "u8 n={n}");
        }
        let mut a = normals(2_000_000);
        a[1_234_567] = f64::NAN;
        let s = stats(&a);
        assert!(same(&s, &singles(&a)));
        assert!(s.sum.to_f64().is_nan() && s.mean.is_nan() && s.std.is_nan());
        assert!(s.min.unwrap().is_nan() && s.max.unwrap().is_nan());
        let e = stats::<u64>(&[]);
        assert_eq!((e.count, e.sum, e.min, e.max), (0, Sum::Int(0), None, None));
        assert!(e.mean.is_nan() && e.std.is_nan());
        let big = stats(&[u64::MAX, u64::MAX, 1]);
        assert_eq!(big.sum, Sum::Int(2 * u64::MAX as i128 + 1));
        assert_eq!((big.min, big.max), (Some(1), Some(u64::MAX)));
    }

    #[test]
    fn stats_of_a_mapping_in_segments_reports_progress_and_matches() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.f64");
        let a = normals(1_000_003);
        std::fs::write(&p, bytemuck::cast_slice::<f64, u8>(&a)).unwrap();
        let map = Mapping::open(&p, &crate::OpenOptions::new()).unwrap();
        for chunks in [1, 3, SEGMENT_CHUNKS] {
            let mut seen = Vec::new();
            // SAFETY: nothing writes the test's file while it is mapped.
            let s = unsafe { stats_in_segments::<f64>(&map, chunks, |b| seen.push(b)) }.unwrap();
            assert!(same(&s, &stats(&a)), "segments of {chunks} chunks");
            let segment = chunk_len::<f64>() * chunks * 8;
            assert_eq!(seen.len(), (a.len() * 8).div_ceil(segment));
            assert!(seen.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(seen.last(), Some(&(a.len() * 8)));
        }
        // SAFETY: as above.
        let whole = unsafe { stats_of::<f64>(&map, |_| {}) }.unwrap();
        assert!(same(&whole, &stats(&a)));
        // SAFETY: as above.
        let odd = unsafe {
            stats_of::<f32>(
                &Mapping::open(&p, crate::OpenOptions::new().len(6)).unwrap(),
                |_| {},
            )
        };
        assert_eq!(odd.unwrap_err().code(), "ERR_MMAP_SIZE_MISMATCH");
        let empty = d.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        let mut calls = 0;
        // SAFETY: as above.
        let e = unsafe {
            stats_of::<i32>(
                &Mapping::open(&empty, &crate::OpenOptions::new()).unwrap(),
                |_| calls += 1,
            )
        };
        assert_eq!((e.unwrap().count, calls), (0, 0));
    }

    /// The sum of float16/bfloat16 values rounds at most once to float32, in each pair of
    /// elements (2^-24 of the pair), and otherwise only in f64: 2^-24 of the sum of magnitudes
    /// bounds the error, with room for the f64 part. Accumulating in float32 throughout would
    /// exceed it on any long array.
    const HALF_TOL: f64 = 1.0 / (1u64 << 24) as f64 * 1.01;

    /// A float16's value from its bits by the IEEE 754 definition, independently of `half`.
    fn f16_value(bits: u16) -> f64 {
        let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
        let exp = i32::from((bits >> 10) & 0x1f);
        let frac = f64::from(bits & 0x3ff);
        sign * match exp {
            0 => frac * 2f64.powi(-24),
            31 if frac == 0.0 => f64::INFINITY,
            31 => f64::NAN,
            e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
        }
    }

    /// A bfloat16's value: the top half of a float32, by definition.
    fn bf16_value(bits: u16) -> f64 {
        f64::from(f32::from_bits(u32::from(bits) << 16))
    }

    /// `got` is `want` to the bit (one NaN is as good as another).
    fn same_f64(got: f64, want: f64) -> bool {
        (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
    }

    /// Every one of the 65,536 bit patterns, alone and as a whole array, reduces to its value.
    fn every_bit_pattern<T: Element + std::fmt::Debug>(
        from_bits: fn(u16) -> T,
        value: fn(u16) -> f64,
    ) {
        for bits in 0..=u16::MAX {
            let v = value(bits);
            let a = [from_bits(bits)];
            let ctx = format!("bits {bits:#06x} = {v}");
            // numpy's sum starts from +0, so -0 sums to +0 (np.float16(-0.0) sums to 0.0 too).
            assert!(same_f64(sum(&a).to_f64(), v + 0.0), "sum of {ctx}");
            assert!(same_f64(mean(&a), v + 0.0), "mean of {ctx}");
            // One finite value deviates by 0; ±Inf - ±Inf is NaN, as numpy says.
            let sd = if v.is_finite() { 0.0 } else { f64::NAN };
            assert!(same_f64(std(&a), sd), "std of {ctx}");
            // min and max are the element itself: the same bits, -0 and NaN payloads included.
            assert_eq!(
                min(&a).map(|x| bytemuck::cast::<T, u16>(x)),
                Some(bits),
                "min of {ctx}"
            );
            assert_eq!(
                max(&a).map(|x| bytemuck::cast::<T, u16>(x)),
                Some(bits),
                "max of {ctx}"
            );
            assert!(same(&stats(&a), &singles(&a)), "stats of {ctx}");
        }
        // All finite values at once: a sum far from zero's cancellations (all positive ones), the
        // extremes, and NaN anywhere in a large array winning over everything.
        let finite: Vec<u16> = (0..=u16::MAX).filter(|&b| value(b).is_finite()).collect();
        let a: Vec<T> = finite.iter().map(|&b| from_bits(b)).collect();
        let vals: Vec<f64> = finite.iter().map(|&b| value(b)).collect();
        let want_max = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(max(&a).map(Element::to_f64), Some(want_max));
        assert_eq!(min(&a).map(Element::to_f64), Some(-want_max));
        let pos: Vec<T> = finite
            .iter()
            .filter(|&&b| b < 0x8000)
            .map(|&b| from_bits(b))
            .collect();
        let pos_vals: Vec<f64> = pos.iter().map(|x| x.to_f64()).collect();
        let want = naive_exact_sum(&pos_vals);
        // Values of every magnitude side by side: the pair sums round (see `HALF_TOL`).
        assert!(
            (sum(&pos).to_f64() - want).abs() <= HALF_TOL * want,
            "sum of all positive values"
        );
        let nan = (0..=u16::MAX).find(|&b| value(b).is_nan()).unwrap();
        for at in [0, 7, 8, 65_535, 65_536, 200_000] {
            let mut big: Vec<T> = (0..300_000)
                .map(|i| from_bits(finite[i % finite.len()]))
                .collect();
            big[at] = from_bits(nan);
            assert!(min(&big).unwrap().to_f64().is_nan(), "min, NaN at {at}");
            assert!(max(&big).unwrap().to_f64().is_nan(), "max, NaN at {at}");
            assert!(
                sum(&big).to_f64().is_nan() && std(&big).is_nan(),
                "NaN at {at}"
            );
        }
    }

    #[test]
    fn every_float16_bit_pattern_reduces_to_its_value() {
        every_bit_pattern(f16::from_bits, f16_value);
    }

    #[test]
    fn every_bfloat16_bit_pattern_reduces_to_its_value() {
        every_bit_pattern(bf16::from_bits, bf16_value);
    }

    /// Large float16/bfloat16 arrays against an f64 reference of the same values, at lengths
    /// around the chunk (65,536 elements) and the parallel threshold (4 Mi elements).
    fn half_arrays<T: Element + std::fmt::Debug>(from_f64: fn(f64) -> T) {
        let chunk = chunk_len::<T>();
        for n in [
            0usize,
            1,
            7,
            9,
            127,
            129,
            chunk - 1,
            chunk,
            chunk + 1,
            4 << 20,
            (4 << 20) + 3,
            6_000_001,
        ] {
            let a: Vec<T> = normals(n)
                .iter()
                .map(|&x| from_f64(x * 3.0 + 1.0))
                .collect();
            let v: Vec<f64> = a.iter().map(|x| x.to_f64()).collect();
            let want = naive_exact_sum(&v);
            let got = sum(&a).to_f64();
            // At most one float32 rounding per pair (`HALF_TOL` of the sum of magnitudes, which
            // is at most ~4 n here); with these values of like magnitude, mostly none.
            let tol = HALF_TOL * (4.0 * n as f64).max(1.0);
            assert!((got - want).abs() <= tol, "n={n}: {got} vs {want}");
            let s = stats(&a);
            assert!(same(&s, &singles(&a)), "stats n={n}");
            if n == 0 {
                assert_eq!(s.sum, Sum::Float(0.0));
                assert!(s.mean.is_nan() && s.std.is_nan() && s.min.is_none() && s.max.is_none());
                continue;
            }
            let m = want / n as f64;
            let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
            assert!((s.mean - m).abs() <= tol / n as f64, "mean n={n}");
            assert!(
                (s.std - var.sqrt()).abs() <= 1e-12 * var.sqrt().max(1e-300),
                "std n={n}"
            );
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(
                (s.min.unwrap().to_f64(), s.max.unwrap().to_f64()),
                (lo, hi),
                "n={n}"
            );
        }
    }

    #[test]
    fn float16_and_bfloat16_arrays_match_an_f64_reference() {
        half_arrays(f16::from_f64);
        half_arrays(bf16::from_f64);
    }

    /// The sums on the CPU's fast path (F16C/AVX here) and on the portable path that a CPU
    /// without them (or aarch64) takes are the same bits, and so is the sum `stats` takes of a
    /// widened chunk; all agree with an f64 reference.
    #[test]
    fn half_sum_paths_agree_to_the_bit() {
        let chunk = chunk_len::<f16>();
        for n in [1usize, 15, 16, 17, 1023, 1024, 1025, 4097, chunk - 1, chunk] {
            let v = normals(n);
            let h: Vec<f16> = v.iter().map(|&x| f16::from_f64(x * 1e3)).collect();
            let b: Vec<bf16> = v.iter().map(|&x| bf16::from_f64(x * 1e30)).collect();
            let (fast, portable) = (f16::chunk_sum(&h).to_f64(), wide::f16_sum_portable(&h));
            let stats_sum = f16::with_wide(&h, f16::wide_sum).to_f64();
            assert_eq!(fast.to_bits(), portable.to_bits(), "f16 n={n}");
            assert_eq!(fast.to_bits(), stats_sum.to_bits(), "f16 n={n}");
            let abs: f64 = h.iter().map(|x| x.to_f64().abs()).sum();
            let want = naive_exact_sum(&h.iter().map(|x| x.to_f64()).collect::<Vec<_>>());
            assert!((fast - want).abs() <= HALF_TOL * abs, "f16 n={n}");
            let (fast, portable) = (bf16::chunk_sum(&b).to_f64(), wide::bf16_sum_portable(&b));
            let stats_sum = bf16::with_wide(&b, bf16::wide_sum).to_f64();
            assert_eq!(fast.to_bits(), portable.to_bits(), "bf16 n={n}");
            assert_eq!(fast.to_bits(), stats_sum.to_bits(), "bf16 n={n}");
            let abs: f64 = b.iter().map(|x| x.to_f64().abs()).sum();
            let want = naive_exact_sum(&b.iter().map(|x| x.to_f64()).collect::<Vec<_>>());
            assert!((fast - want).abs() <= HALF_TOL * abs, "bf16 n={n}");
        }
        // Pairs of like values add in float32 exactly: integers sum to the exact answer.
        let ints: Vec<f16> = (0..70_001)
            .map(|i| f16::from_f64((i % 2000) as f64))
            .collect();
        let want: f64 = (0..70_001).map(|i| (i % 2000) as f64).sum();
        assert_eq!(sum(&ints).to_f64(), want);
        // A bfloat16 pair beyond float32's range is summed again in f64, so the sum is finite as
        // numpy's float64 sum is; the same with an infinity in the block stays infinite.
        for n in [2usize, 32, 33, 1024, 3000] {
            let mut big = vec![bf16::MAX; n];
            assert_eq!(sum(&big).to_f64(), n as f64 * bf16::MAX.to_f64(), "n={n}");
            big[n - 1] = bf16::NEG_INFINITY;
            assert_eq!(sum(&big).to_f64(), f64::NEG_INFINITY, "n={n}");
            assert_eq!(wide::bf16_sum_portable(&big), f64::NEG_INFINITY, "n={n}");
        }
        // Infinities and NaN through the vector lanes and the tail alike.
        for at in [0usize, 5, 16, 1030] {
            let mut h = vec![f16::ONE; 1040];
            h[at] = f16::INFINITY;
            assert_eq!(f16::chunk_sum(&h).to_f64(), f64::INFINITY, "inf at {at}");
            h[at + 1] = f16::NEG_INFINITY;
            assert!(f16::chunk_sum(&h).to_f64().is_nan(), "inf - inf at {at}");
            let mut b = vec![bf16::ONE; 1040];
            b[at] = bf16::NAN;
            assert!(bf16::chunk_sum(&b).to_f64().is_nan(), "NaN at {at}");
            assert!(wide::bf16_sum_portable(&b).is_nan(), "NaN at {at}");
        }
    }

    #[test]
    fn half_results_do_not_depend_on_the_thread_count() {
        let a: Vec<f16> = normals(5_000_000)
            .iter()
            .map(|&x| f16::from_f64(x))
            .collect();
        let b: Vec<bf16> = normals(5_000_000)
            .iter()
            .map(|&x| bf16::from_f64(x))
            .collect();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (sa, sb) = one.install(|| (stats(&a), stats(&b)));
        assert!(same(&sa, &stats(&a)) && same(&sb, &stats(&b)));
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let a = normals(4_000_000);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let serial = one.install(|| (sum(&a), std(&a)));
        assert_eq!(serial, (sum(&a), std(&a)));
        let serial = one.install(|| stats(&a));
        assert!(same(&serial, &stats(&a)));
    }
}
