use std::str::FromStr;

use crate::error::Error;

/// How a file is mapped; numpy's `mode` letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `'r'`: the file is never written. The map is private and writable so that a stray
    /// write through a raw pointer lands in this process's copy instead of faulting.
    ReadOnly,
    /// `'r+'`: shared; writes reach the file and every other mapping of it.
    #[default]
    ReadWrite,
    /// `'c'`: private copy-on-write; writes stay in this process.
    CopyOnWrite,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "r",
            Mode::ReadWrite => "r+",
            Mode::CopyOnWrite => "c",
        }
    }

    /// Whether the API may write through this map (`'r+'` and `'c'`).
    pub fn is_writable(self) -> bool {
        self != Mode::ReadOnly
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "r" => Ok(Mode::ReadOnly),
            "r+" => Ok(Mode::ReadWrite),
            "c" => Ok(Mode::CopyOnWrite),
            _ => Err(Error::invalid_arg(
                format!("mode must be 'r', 'r+' or 'c', got '{s}'"),
                None,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        for m in [Mode::ReadOnly, Mode::ReadWrite, Mode::CopyOnWrite] {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), m);
        }
        assert_eq!(
            "w+".parse::<Mode>().unwrap_err().code(),
            "ERR_MMAP_INVALID_ARG"
        );
        assert!(!Mode::ReadOnly.is_writable());
    }
}
