use std::str::FromStr;

use crate::error::Error;

/// How the program will touch a mapping: a hint to the kernel's read-ahead and reclaim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Sequential,
    Random,
    /// Start reading these pages in now.
    WillNeed,
    /// The pages may be dropped from this process; see [`Mapping::advise`](crate::Mapping::advise)
    /// for what that means per mode.
    DontNeed,
}

impl Advice {
    pub const ALL: [Advice; 5] = [
        Advice::Normal,
        Advice::Sequential,
        Advice::Random,
        Advice::WillNeed,
        Advice::DontNeed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Advice::Normal => "normal",
            Advice::Sequential => "sequential",
            Advice::Random => "random",
            Advice::WillNeed => "willneed",
            Advice::DontNeed => "dontneed",
        }
    }
}

impl FromStr for Advice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Advice::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                Error::invalid_arg(
                    format!(
                        "advice must be one of 'normal', 'sequential', 'random', 'willneed', 'dontneed', got '{s}'"
                    ),
                    None,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_name_and_rejects_others() {
        for a in Advice::ALL {
            assert_eq!(a.as_str().parse::<Advice>().unwrap(), a);
        }
        let err = "WILLNEED".parse::<Advice>().unwrap_err();
        assert_eq!(err.code(), "ERR_MMAP_INVALID_ARG");
    }
}
