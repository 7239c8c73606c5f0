//! What the binding takes from JavaScript, as typed values. The TypeScript layer has already
//! checked every argument against the user-facing rules (js/validate.ts); a value that breaks
//! them here is a bug of ours, so it is `ERR_MMAP_INTERNAL`, never `ERR_MMAP_INVALID_ARG`.

use napi_derive::napi;

use crate::error::{self, Result};

/// How a file is mapped: `'r'` read-only, `'r+'` read-write, `'c'` copy-on-write.
#[napi(string_enum)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    #[napi(value = "r")]
    ReadOnly,
    #[napi(value = "r+")]
    ReadWrite,
    #[napi(value = "c")]
    CopyOnWrite,
}

impl From<Mode> for memmap_core::Mode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::ReadOnly => memmap_core::Mode::ReadOnly,
            Mode::ReadWrite => memmap_core::Mode::ReadWrite,
            Mode::CopyOnWrite => memmap_core::Mode::CopyOnWrite,
        }
    }
}

impl From<memmap_core::Mode> for Mode {
    fn from(m: memmap_core::Mode) -> Self {
        match m {
            memmap_core::Mode::ReadOnly => Mode::ReadOnly,
            memmap_core::Mode::ReadWrite => Mode::ReadWrite,
            memmap_core::Mode::CopyOnWrite => Mode::CopyOnWrite,
        }
    }
}

/// How the memory will be used: a hint to the kernel (madvise).
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Sequential,
    Random,
    WillNeed,
    DontNeed,
}

impl From<Advice> for memmap_core::Advice {
    fn from(a: Advice) -> Self {
        match a {
            Advice::Normal => memmap_core::Advice::Normal,
            Advice::Sequential => memmap_core::Advice::Sequential,
            Advice::Random => memmap_core::Advice::Random,
            Advice::WillNeed => memmap_core::Advice::WillNeed,
            Advice::DontNeed => memmap_core::Advice::DontNeed,
        }
    }
}

/// JavaScript hands over sizes as doubles (they may be past 2^32): only a non-negative safe
/// integer (`Number.isSafeInteger`) becomes a size, so NaN, fractions and values past 2^53 never
/// do.
pub fn size(name: &str, value: f64) -> Result<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE {
        Ok(value as u64)
    } else {
        Err(error::internal(format!(
            "the TypeScript layer let through {name} {value}, which is not a non-negative safe integer"
        )))
    }
}

pub fn usize_of(name: &str, value: f64) -> Result<usize> {
    let v = size(name, value)?;
    usize::try_from(v).map_err(|_| {
        error::internal(format!(
            "the TypeScript layer let through {name} {v}, more than this platform can address"
        ))
    })
}
