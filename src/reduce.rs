//! `Mapping.reduce`: picks the element type, runs memmap-core's reduction, and hands back a
//! number, or a bigint where the dtype is a 64-bit integer.

use memmap_core::reduce::{self, Element, Sum};
use memmap_core::{Error, Mapping};
use napi::bindgen_prelude::{BigInt, Either};

pub type Value = Either<f64, BigInt>;

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
small!(i8, u8, i16, u16, i32, u32, f32, f64);

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

fn run<T: ToValue>(map: &Mapping, op: &str) -> Result<Value, Error> {
    // SAFETY: not a proof, and this is the one place where the package relies on practice:
    // as_slice's contract asks that nothing write the bytes while the slice lives. Nothing in
    // this thread does (JavaScript waits for this synchronous call), but another process, or a
    // worker thread with its own map of the same file, may write them meanwhile; no API can
    // stop that. Every bit pattern is a valid T and each element is read once, so such a race
    // gives a result mixing old and new values (README, Security), as numpy's would.
    let data = unsafe { map.as_slice::<T>() }?;
    let empty = || {
        Error::invalid_arg(
            format!("{op}() of an empty array has no value (numpy raises too)"),
            map.path(),
        )
    };
    Ok(match op {
        "sum" => match reduce::sum(data) {
            Sum::Int(i) if T::BIG => Either::B(BigInt::from(i)),
            s => Either::A(s.to_f64()),
        },
        "mean" => Either::A(reduce::mean(data)),
        "std" => Either::A(reduce::std(data)),
        "min" => reduce::min(data).ok_or_else(empty)?.value(),
        "max" => reduce::max(data).ok_or_else(empty)?.value(),
        _ => {
            return Err(Error::invalid_arg(
                format!("unknown reduction '{op}'"),
                None,
            ))
        }
    })
}

pub fn reduce(map: &Mapping, dtype: &str, op: &str) -> Result<Value, Error> {
    match dtype {
        "int8" => run::<i8>(map, op),
        "uint8" | "bool" => run::<u8>(map, op),
        "int16" => run::<i16>(map, op),
        "uint16" => run::<u16>(map, op),
        "int32" => run::<i32>(map, op),
        "uint32" => run::<u32>(map, op),
        "int64" => run::<i64>(map, op),
        "uint64" => run::<u64>(map, op),
        "float32" => run::<f32>(map, op),
        "float64" => run::<f64>(map, op),
        _ => Err(Error::invalid_arg(format!("unknown dtype '{dtype}'"), None)),
    }
}
