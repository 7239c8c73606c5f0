use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong, each case with a stable [`code`](Error::code).
///
/// Operating-system failures keep the name Node's `fs` uses for the errno (`ENOENT`,
/// `EACCES`, ...); the crate's own failures have `ERR_MMAP_*` codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{syscall} failed{}: {source}", fmt_path(path))]
    Io {
        source: io::Error,
        syscall: &'static str,
        path: Option<PathBuf>,
    },
    #[error("{message}{}", fmt_path(path))]
    InvalidArg {
        message: String,
        path: Option<PathBuf>,
    },
    #[error("{message}{}", fmt_path(path))]
    SizeMismatch {
        message: String,
        path: Option<PathBuf>,
    },
    #[error("{message}{}", fmt_path(path))]
    Alignment {
        message: String,
        path: Option<PathBuf>,
    },
    #[error("{message}{}", fmt_path(path))]
    ReadOnly {
        message: String,
        path: Option<PathBuf>,
    },
    #[error("{message}{}", fmt_path(path))]
    Closed {
        message: String,
        path: Option<PathBuf>,
    },
    #[error("{message}{}", fmt_path(path))]
    Format {
        message: String,
        path: Option<PathBuf>,
    },
}

fn fmt_path(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!(" (path '{}')", p.display()),
        None => String::new(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(source: io::Error, syscall: &'static str, path: Option<&Path>) -> Self {
        Error::Io {
            source,
            syscall,
            path: path.map(Path::to_path_buf),
        }
    }

    pub fn invalid_arg(message: impl Into<String>, path: Option<&Path>) -> Self {
        Error::InvalidArg {
            message: message.into(),
            path: path.map(Path::to_path_buf),
        }
    }

    pub fn size_mismatch(message: impl Into<String>, path: Option<&Path>) -> Self {
        Error::SizeMismatch {
            message: message.into(),
            path: path.map(Path::to_path_buf),
        }
    }

    pub fn alignment(message: impl Into<String>, path: Option<&Path>) -> Self {
        Error::Alignment {
            message: message.into(),
            path: path.map(Path::to_path_buf),
        }
    }

    pub fn read_only(message: impl Into<String>, path: Option<&Path>) -> Self {
        Error::ReadOnly {
            message: message.into(),
            path: path.map(Path::to_path_buf),
        }
    }

    pub fn closed(message: impl Into<String>, path: Option<&Path>) -> Self {
        Error::Closed {
            message: message.into(),
            path: path.map(Path::to_path_buf),
        }
    }

    pub fn format(message: impl Into<String>, path: Option<&Path>) -> Self {
        Error::Format {
            message: message.into(),
            path: path.map(Path::to_path_buf),
        }
    }

    /// The stable code of this error: an errno name for OS failures, `ERR_MMAP_*` otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { source, .. } => io_code(source),
            Error::InvalidArg { .. } => "ERR_MMAP_INVALID_ARG",
            Error::SizeMismatch { .. } => "ERR_MMAP_SIZE_MISMATCH",
            Error::Alignment { .. } => "ERR_MMAP_ALIGNMENT",
            Error::ReadOnly { .. } => "ERR_MMAP_READONLY",
            Error::Closed { .. } => "ERR_MMAP_CLOSED",
            Error::Format { .. } => "ERR_MMAP_FORMAT",
        }
    }

    /// The file the error is about, where there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. }
            | Error::InvalidArg { path, .. }
            | Error::SizeMismatch { path, .. }
            | Error::Alignment { path, .. }
            | Error::ReadOnly { path, .. }
            | Error::Closed { path, .. }
            | Error::Format { path, .. } => path.as_deref(),
        }
    }

    /// The system call that failed, for OS errors.
    pub fn syscall(&self) -> Option<&'static str> {
        match self {
            Error::Io { syscall, .. } => Some(syscall),
            _ => None,
        }
    }

    /// Whether this is the operating system's own error (an errno or a Windows error code), whose
    /// description callers may prefer to take from their own table of codes.
    pub fn is_os(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.raw_os_error().is_some())
    }

    /// The message without the path suffix, for callers that report the path separately.
    pub fn detail(&self) -> String {
        match self {
            Error::Io { source, .. } => io_description(source),
            Error::InvalidArg { message, .. }
            | Error::SizeMismatch { message, .. }
            | Error::Alignment { message, .. }
            | Error::ReadOnly { message, .. }
            | Error::Closed { message, .. }
            | Error::Format { message, .. } => message.clone(),
        }
    }
}

/// The OS description without Rust's " (os error N)" suffix.
fn io_description(err: &io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Node's `fs` names errors by their errno symbol; keep that so `err.code` reads the same.
fn io_code(err: &io::Error) -> &'static str {
    #[cfg(unix)]
    if let Some(errno) = err.raw_os_error() {
        if let Some(name) = errno_name(errno) {
            return name;
        }
    }
    #[cfg(windows)]
    if let Some(code) = err.raw_os_error() {
        if let Some(name) = windows_error_name(code) {
            return name;
        }
    }
    use io::ErrorKind as K;
    match err.kind() {
        K::NotFound => "ENOENT",
        K::PermissionDenied => "EACCES",
        K::AlreadyExists => "EEXIST",
        K::IsADirectory => "EISDIR",
        K::NotADirectory => "ENOTDIR",
        K::OutOfMemory => "ENOMEM",
        K::StorageFull => "ENOSPC",
        K::ReadOnlyFilesystem => "EROFS",
        K::FileTooLarge => "EFBIG",
        K::ResourceBusy => "EBUSY",
        K::InvalidInput => "EINVAL",
        K::Interrupted => "EINTR",
        K::WouldBlock => "EAGAIN",
        _ => "EIO",
    }
}

#[cfg(unix)]
fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ELOOP => "ELOOP",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EDQUOT => "EDQUOT",
        libc::EINTR => "EINTR",
        _ => return None,
    })
}

/// Windows error codes named as libuv names them (`uv_translate_sys_error`, src/win/error.c), so
/// that `err.code` is what `fs` gives for the same failure. The file-system subset.
#[cfg(windows)]
fn windows_error_name(code: i32) -> Option<&'static str> {
    Some(match code {
        2 | 3 | 15 | 123 | 161 | 267 => "ENOENT", // FILE/PATH_NOT_FOUND, INVALID_DRIVE, INVALID_NAME, BAD_PATHNAME, DIRECTORY
        4 => "EMFILE",                            // TOO_MANY_OPEN_FILES
        5 | 998 | 1920 | 740 => "EACCES", // ACCESS_DENIED, NOACCESS, CANT_ACCESS_FILE, ELEVATION_REQUIRED
        6 | 1004 => "EBADF",              // INVALID_HANDLE, INVALID_FLAGS
        8 | 14 => "ENOMEM",               // NOT_ENOUGH_MEMORY, OUTOFMEMORY
        17 => "EXDEV",                    // NOT_SAME_DEVICE
        19 => "EROFS",                    // WRITE_PROTECT
        32 | 33 => "EBUSY",               // SHARING_VIOLATION, LOCK_VIOLATION
        39 | 112 | 82 => "ENOSPC",        // HANDLE_DISK_FULL, DISK_FULL, CANNOT_MAKE
        50 => "ENOTSUP",                  // NOT_SUPPORTED
        80 | 183 => "EEXIST",             // FILE_EXISTS, ALREADY_EXISTS
        87 | 122 | 13 => "EINVAL",        // INVALID_PARAMETER, INSUFFICIENT_BUFFER, INVALID_DATA
        1 => "EISDIR",                    // INVALID_FUNCTION
        145 => "ENOTEMPTY",               // DIR_NOT_EMPTY
        206 => "ENAMETOOLONG",            // FILENAME_EXCED_RANGE
        1314 => "EPERM",                  // PRIVILEGE_NOT_HELD
        1921 => "ELOOP",                  // CANT_RESOLVE_FILENAME
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_use_errno_names() {
        let e = Error::io(io::Error::from(io::ErrorKind::NotFound), "open", None);
        assert_eq!(e.code(), "ENOENT");
        #[cfg(unix)]
        {
            let e = Error::io(io::Error::from_raw_os_error(libc::ENOSPC), "write", None);
            assert_eq!(e.code(), "ENOSPC");
            assert_eq!(e.detail(), "No space left on device");
        }
    }

    #[test]
    fn own_errors_have_stable_codes() {
        let p = Path::new("/x");
        assert_eq!(Error::invalid_arg("m", None).code(), "ERR_MMAP_INVALID_ARG");
        assert_eq!(
            Error::size_mismatch("m", Some(p)).code(),
            "ERR_MMAP_SIZE_MISMATCH"
        );
        assert_eq!(Error::alignment("m", None).code(), "ERR_MMAP_ALIGNMENT");
        assert_eq!(Error::read_only("m", None).code(), "ERR_MMAP_READONLY");
        assert_eq!(Error::closed("m", None).code(), "ERR_MMAP_CLOSED");
        assert_eq!(Error::format("m", None).code(), "ERR_MMAP_FORMAT");
        assert_eq!(Error::size_mismatch("m", Some(p)).path(), Some(p));
        assert_eq!(
            Error::size_mismatch("m", Some(p)).to_string(),
            "m (path '/x')"
        );
    }
}
