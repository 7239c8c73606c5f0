//! Reductions over a mapped slice at memory bandwidth, with numpy's results.
//!
//! The slice is cut into chunks small enough to stay in cache. Each chunk is reduced on its
//! own (in parallel on rayon's persistent pool once the slice is large enough to pay for it);
//! the chunk results are then combined in order, so the answer does not depend on the number of
//! threads. Floats are summed pairwise inside a chunk (numpy's scheme) and the chunk sums
//! pairwise again; integers are summed exactly in `i128`. `std` reads memory once: each chunk
//! computes its mean and squared deviations while it is in cache, and chunks are merged with
//! Chan et al.'s formula.

use rayon::prelude::*;

/// Bytes per chunk: fits in L2 with room to spare, so a chunk's second pass (std) is a cache hit.
const CHUNK_BYTES: usize = 128 * 1024;
/// Below this the work is done on the calling thread: waking the pool costs more than it saves.
const PARALLEL_BYTES: usize = 8 * 1024 * 1024;
/// numpy's pairwise block.
const BLOCK: usize = 128;

/// An element type the reductions know.
pub trait Element: bytemuck::Pod + Send + Sync + PartialOrd {
    /// Whether this is a float (NaN propagates through min/max).
    const FLOAT: bool;
    fn to_f64(self) -> f64;
    /// Exact for every integer type; floats are never asked.
    fn to_i128(self) -> i128;
}

macro_rules! element {
    ($float:literal: $($t:ty),*) => {$(
        impl Element for $t {
            const FLOAT: bool = $float;
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn to_i128(self) -> i128 { self as i128 }
        }
    )*};
}
element!(false: i8, u8, i16, u16, i32, u32, i64, u64);
element!(true: f32, f64);

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

pub fn sum<T: Element>(data: &[T]) -> Sum {
    if T::FLOAT {
        Sum::Float(pairwise_f64(&per_chunk(data, pairwise)))
    } else {
        Sum::Int(per_chunk(data, int_sum).into_iter().sum())
    }
}

/// Arithmetic mean; NaN when empty.
pub fn mean<T: Element>(data: &[T]) -> f64 {
    if data.is_empty() {
        return f64::NAN;
    }
    sum(data).to_f64() / data.len() as f64
}

/// (count, mean, sum of squared deviations) of one chunk: two passes over cached data.
fn moments<T: Element>(a: &[T]) -> (f64, f64, f64) {
    let n = a.len() as f64;
    let m = pairwise(a) / n;
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

/// Population standard deviation (ddof = 0, numpy's default); NaN when empty.
pub fn std<T: Element>(data: &[T]) -> f64 {
    if data.is_empty() {
        return f64::NAN;
    }
    let parts = per_chunk(data, moments);
    // Chan, Golub & LeVeque's pairwise update, merged as a balanced tree.
    fn merge(p: &[(f64, f64, f64)]) -> (f64, f64, f64) {
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
    let (n, _, m2) = merge(&parts);
    (m2 / n).sqrt()
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

/// Combines chunk results; a NaN from any chunk wins.
#[allow(clippy::eq_op)]
fn extreme<T: Element, const MAX: bool>(data: &[T]) -> Option<T> {
    let parts = per_chunk(data, extreme_chunk::<T, MAX>);
    parts.into_iter().flatten().reduce(|a, b| {
        if T::FLOAT && a != a {
            a
        } else if (T::FLOAT && b != b) || (MAX && b > a) || (!MAX && b < a) {
            b
        } else {
            a
        }
    })
}

pub fn min<T: Element>(data: &[T]) -> Option<T> {
    extreme::<T, false>(data)
}

pub fn max<T: Element>(data: &[T]) -> Option<T> {
    extreme::<T, true>(data)
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

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let a = normals(4_000_000);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let serial = one.install(|| (sum(&a), std(&a)));
        assert_eq!(serial, (sum(&a), std(&a)));
    }
}
