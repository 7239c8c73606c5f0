//! `native-limit FILE f64|f32|u64 THREADS REPEATS`: maps FILE read-only and sums it with eight
//! independent accumulators, on THREADS threads, REPEATS times; prints the median milliseconds
//! and the bandwidth (GB/s, 10^9 bytes) as JSON. The mapping is made once, so only the read is
//! timed. `u64` is the file's sequential-read bandwidth: its 8-byte words summed with wrapping
//! integer adds, which cost nothing next to the loads, whatever the bytes hold (the limit for
//! float16 and bfloat16 data, which no CPU here adds natively).

use std::fs::File;
use std::io::Write;
use std::time::Instant;

fn sum<T: Copy + Into<f64>>(a: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let body = a.chunks_exact(8);
    let rest = body.remainder();
    for c in body {
        for k in 0..8 {
            acc[k] += c[k].into();
        }
    }
    acc.iter().sum::<f64>() + rest.iter().map(|&x| x.into()).sum::<f64>()
}

/// The words' wrapping sum, as f64 only to be printed (so the loop cannot be optimised away).
fn words(a: &[u64]) -> f64 {
    let mut acc = [0u64; 8];
    let body = a.chunks_exact(8);
    let rest = body.remainder();
    for c in body {
        for k in 0..8 {
            acc[k] = acc[k].wrapping_add(c[k]);
        }
    }
    let total = rest
        .iter()
        .chain(&acc)
        .fold(0u64, |s, &x| s.wrapping_add(x));
    (total >> 11) as f64
}

fn parallel<T: Sync>(a: &[T], threads: usize, f: fn(&[T]) -> f64) -> f64 {
    let part = a.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = a.chunks(part).map(|c| s.spawn(move || f(c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(f64::NAN))
            .sum()
    })
}

fn typed<T>(bytes: &[u8]) -> &[T] {
    let n = bytes.len() / std::mem::size_of::<T>();
    // SAFETY: the mapping is page-aligned (so aligned for T) and n elements fit in it; f32, f64
    // and u64 accept every bit pattern.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast(), n) }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, dtype, threads, repeats] = &args[..] else {
        eprintln!("usage: native-limit FILE f64|f32|u64 THREADS REPEATS");
        std::process::exit(2);
    };
    let threads: usize = threads.parse().expect("THREADS");
    let repeats: usize = repeats.parse().expect("REPEATS");
    let file = File::open(path).expect("open");
    // SAFETY: the benchmark's own file, not modified while mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.expect("mmap");
    let mut times = Vec::new();
    let mut total = 0.0;
    for _ in 0..repeats {
        let t = Instant::now();
        total = match dtype.as_str() {
            "f32" => parallel(typed::<f32>(&map), threads, sum),
            "u64" => parallel(typed::<u64>(&map), threads, words),
            _ => parallel(typed::<f64>(&map), threads, sum),
        };
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let ms = times[times.len() / 2];
    let gbs = map.len() as f64 / ms / 1e6;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{{\"ms\": {ms}, \"gbs\": {gbs}, \"sum\": {total}}}");
}
