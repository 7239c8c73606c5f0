//! `Mapping.reduce` and `Mapping.stats`: pick the element type, run memmap-core's reductions,
//! and hand back numbers, or bigints where the dtype is a 64-bit integer.

use std::sync::Arc;

use memmap_core::reduce::{self, bf16, f16, Element, Sum};
use memmap_core::{Error, Mapping};
use napi::bindgen_prelude::{BigInt, Either, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task};
use napi_derive::napi;

use crate::error;

pub type Value = Either<f64, BigInt>;

/// An element type, by its canonical name: what the TypeScript layer's `DType` names.
#[napi(string_enum = "lowercase")]
pub enum DType {
    Int8,
    Uint8,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Int64,
    Uint64,
    Float32,
    Float64,
    /// IEEE half precision, reduced in float32 and wider.
    Float16,
    /// The top half of a float32, reduced in float32 and wider.
    Bfloat16,
    /// One byte per element, reduced as uint8 (numpy sums booleans as integers).
    Bool,
}

/// A single reduction.
#[napi(string_enum = "lowercase")]
pub enum ReduceOp {
    Sum,
    Mean,
    Std,
    Min,
    Max,
}

/// Every reduction of a mapping from one read of it; each field is what `reduce` of the same
/// name returns, except that `min` and `max` of an empty mapping are null instead of an error.
#[napi(object, use_nullable = true)]
pub struct Stats {
    pub count: f64,
    #[napi(ts_type = "number | bigint")]
    pub sum: Value,
    pub mean: f64,
    pub std: f64,
    #[napi(ts_type = "number | bigint")]
    pub min: Option<Value>,
    #[napi(ts_type = "number | bigint")]
    pub max: Option<Value>,
}

trait ToValue: Element {
    const BIG: bool;
    fn value(self) -> Value;
}

macro_rules! small {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            const BIG: bool = false;
            fn value(self) -> Value { Either::A(self.to_f64()) }
        }
    )*};
}
small!(i8, u8, i16, u16, i32, u32, f32, f64, f16, bf16);

impl ToValue for i64 {
    const BIG: bool = true;
    fn value(self) -> Value {
        Either::B(BigInt::from(self))
    }
}

impl ToValue for u64 {
    const BIG: bool = true;
    fn value(self) -> Value {
        Either::B(BigInt::from(self))
    }
}

/// Calls the generic function `$f` with the element type of `$dtype`.
macro_rules! by_dtype {
    ($dtype:expr, $f:ident($($arg:expr),*)) => {
        match $dtype {
            DType::Int8 => $f::<i8>($($arg),*),
            DType::Uint8 | DType::Bool => $f::<u8>($($arg),*),
            DType::Int16 => $f::<i16>($($arg),*),
            DType::Uint16 => $f::<u16>($($arg),*),
            DType::Int32 => $f::<i32>($($arg),*),
            DType::Uint32 => $f::<u32>($($arg),*),
            DType::Int64 => $f::<i64>($($arg),*),
            DType::Uint64 => $f::<u64>($($arg),*),
            DType::Float32 => $f::<f32>($($arg),*),
            DType::Float64 => $f::<f64>($($arg),*),
            DType::Float16 => $f::<f16>($($arg),*),
            DType::Bfloat16 => $f::<bf16>($($arg),*),
        }
    };
}

fn sum_value<T: ToValue>(sum: Sum) -> Value {
    match sum {
        Sum::Int(i) if T::BIG => Either::B(BigInt::from(i)),
        s => Either::A(s.to_f64()),
    }
}

fn run<T: ToValue>(map: &Mapping, op: ReduceOp) -> Result<Value, Error> {
    // SAFETY: not a proof, and this is the one place where the package relies on practice:
    // as_slice's contract asks that nothing write the bytes while the slice lives. Nothing in
    // this thread does (JavaScript waits for this synchronous call), but another process, or a
    // worker thread with its own map of the same file, may write them meanwhile; no API can
    // stop that. Every bit pattern is a valid T and each element is read once, so such a race
    // gives a result mixing old and new values (README, Security), as numpy's would.
    let data = unsafe { map.as_slice::<T>() }?;
    let empty = |name: &str| {
        Error::invalid_arg(
            format!("{name}() of an empty array has no value (numpy raises too)"),
            map.path(),
        )
    };
    Ok(match op {
        ReduceOp::Sum => sum_value::<T>(reduce::sum(data)),
        ReduceOp::Mean => Either::A(reduce::mean(data)),
        ReduceOp::Std => Either::A(reduce::std(data)),
        ReduceOp::Min => reduce::min(data).ok_or_else(|| empty("min"))?.value(),
        ReduceOp::Max => reduce::max(data).ok_or_else(|| empty("max"))?.value(),
    })
}

pub fn reduce(map: &Mapping, dtype: DType, op: ReduceOp) -> Result<Value, Error> {
    by_dtype!(dtype, run(map, op))
}

fn stats_of<T: ToValue>(map: &Mapping, progress: impl FnMut(usize)) -> Result<Stats, Error> {
    // SAFETY: as for `run` above, the same reliance on practice, and one more writer: the main
    // thread runs JavaScript during the pass (this is a task on the thread pool), which may write
    // the bytes through a view of a writable mapping. Every bit pattern is a valid T, so a write
    // meanwhile mixes old and new values in the result, as one by another process would.
    let s = unsafe { reduce::stats_of::<T>(map, progress) }?;
    Ok(Stats {
        count: s.count as f64,
        sum: sum_value::<T>(s.sum),
        mean: s.mean,
        std: s.std,
        min: s.min.map(ToValue::value),
        max: s.max.map(ToValue::value),
    })
}

/// Called with the bytes reduced so far; never holds the process open.
pub type Progress = ThreadsafeFunction<f64, (), f64, Status, false, true>;

pub fn progress(callback: Option<Function<'_, f64, ()>>) -> crate::error::Result<Option<Progress>> {
    callback
        .map(|f| {
            f.build_threadsafe_function()
                .callee_handled::<false>()
                .weak::<true>()
                .build()
        })
        .transpose()
        .map_err(|e| error::internal(e.reason.clone()))
}

/// `stats` on the libuv thread pool, one thread of it: the parallel work is rayon's. The task
/// holds the mapping, so a `close()` meanwhile unmaps only when the pass is done.
pub struct StatsTask {
    pub map: Option<Arc<Mapping>>,
    pub dtype: DType,
    pub progress: Option<Progress>,
}

impl Task for StatsTask {
    /// The pass's own outcome: an error becomes a JavaScript error in `resolve`, back on the
    /// JavaScript thread, where the object a rejection carries can be made (as `FlushTask`).
    /// `None`: the task ran twice, which napi-rs never does.
    type Output = Option<Result<Stats, Error>>;
    type JsValue = Stats;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        // Taken, so that if this is the last holder the unmap happens here, off the main thread.
        let Some(map) = self.map.take() else {
            return Ok(None);
        };
        let progress = self.progress.take();
        let report = |bytes: usize| {
            if let Some(p) = &progress {
                // Queued for the main thread; fails only once its environment is gone.
                let _ = p.call(bytes as f64, ThreadsafeFunctionCallMode::NonBlocking);
            }
        };
        Ok(Some(by_dtype!(self.dtype, stats_of(&map, report))))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Stats> {
        output
            .ok_or_else(|| error::internal("stats task computed twice"))?
            .map_err(|e| error::to_napi(&e))
    }
}
