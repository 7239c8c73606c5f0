//! The backing object of anonymous shared memory: a file nobody can open by name.

use std::fs::File;

use crate::error::{Error, Result};

/// A zero-filled, unnamed file of `len` bytes to map `MAP_SHARED`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn shared_memory_file(len: u64) -> Result<File> {
    use std::os::fd::FromRawFd;
    // memfd: RAM-backed, no name in any file system, freed with its last mapping.
    // SAFETY: the name is a NUL-terminated literal and the flags are valid for memfd_create.
    let fd = unsafe { libc::memfd_create(c"memmap-shared".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::io(
            std::io::Error::last_os_error(),
            "memfd_create",
            None,
        ));
    }
    // SAFETY: memfd_create returned a fresh descriptor that nothing else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    size(file, len)
}

/// Elsewhere an unlinked temporary file (deleted-on-close on Windows) plays the memfd's part.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn shared_memory_file(len: u64) -> Result<File> {
    let file = tempfile::tempfile().map_err(|e| Error::io(e, "open", None))?;
    size(file, len)
}

fn size(file: File, len: u64) -> Result<File> {
    file.set_len(len)
        .map_err(|e| Error::io(e, "ftruncate", None))?;
    Ok(file)
}
