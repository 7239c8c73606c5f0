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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_madvise_s() {
        assert_eq!(
            Advice::ALL.map(Advice::as_str),
            ["normal", "sequential", "random", "willneed", "dontneed"]
        );
    }
}
