use memmap_core::Error;

/// Errors cross into JavaScript with `err.code` set to the stable code and a JSON message
/// carrying the details; `js/errors.ts` rebuilds them as `MmapError`. One payload format
/// serves thrown errors and rejected promises alike.
pub type NapiError = napi::Error<String>;
pub type Result<T> = std::result::Result<T, NapiError>;

pub const EXTERNAL_BUFFERS: &str = "ERR_MMAP_EXTERNAL_BUFFERS";

pub fn to_napi(e: &Error) -> NapiError {
    let payload = serde_json::json!({
        "code": e.code(),
        "message": e.detail(),
        "path": e.path().map(|p| p.to_string_lossy()),
        "syscall": e.syscall(),
        "os": e.is_os(),
    });
    napi::Error::new(e.code().to_string(), payload.to_string())
}

pub fn own(code: &str, message: impl Into<String>) -> NapiError {
    let payload = serde_json::json!({ "code": code, "message": message.into() });
    napi::Error::new(code.to_string(), payload.to_string())
}

/// A failure of Node-API itself, which no user input should cause.
pub fn from_status(what: &str, status: napi::sys::napi_status) -> NapiError {
    own(
        "ERR_MMAP_INTERNAL",
        format!("{what} failed with napi status {status}"),
    )
}

pub trait IntoNapi<T> {
    fn napi(self) -> Result<T>;
}

impl<T> IntoNapi<T> for std::result::Result<T, Error> {
    fn napi(self) -> Result<T> {
        self.map_err(|e| to_napi(&e))
    }
}
