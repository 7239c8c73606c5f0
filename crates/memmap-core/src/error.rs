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
