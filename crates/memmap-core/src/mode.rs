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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_letters_and_writability() {
        let modes = [Mode::ReadOnly, Mode::ReadWrite, Mode::CopyOnWrite];
        assert_eq!(modes.map(Mode::as_str), ["r", "r+", "c"]);
        assert_eq!(modes.map(Mode::is_writable), [false, true, true]);
    }
}
