//! What differs per operating system, behind the one API of `file.rs`.

#[cfg(windows)]
pub mod windows;
