use std::cell::Cell;

use memmap_core::Error;
use napi::bindgen_prelude::{JsObjectValue, JsValue, Object};
use napi::{sys, Env, Status};
use napi_derive::napi;

/// Errors cross into JavaScript as `Error` objects whose `message` is the plain detail text and
/// whose `code`, `path`, `syscall` and `os` are properties; `name` marks them as the binding's
/// own. `js/errors.ts` rebuilds them as `MmapError`. Thrown errors and rejected promises carry
/// the same object.
pub type NapiError = napi::Error;
pub type Result<T> = std::result::Result<T, NapiError>;

/// The `name` of every error the binding makes (`NATIVE_ERROR` in js/errors.ts): anything else a
/// binding call throws (Node-API refusing an argument, say) is not one of ours.
const NAME: &str = "MmapNativeError";

pub const EXTERNAL_BUFFERS: &str = "ERR_MMAP_EXTERNAL_BUFFERS";
pub const INTERNAL: &str = "ERR_MMAP_INTERNAL";

thread_local! {
    /// The Node-API environment of this thread, recorded when the addon is loaded on it: Node
    /// runs one environment per JavaScript thread (the main thread, each worker), the invariant
    /// napi-rs's own per-thread state relies on too. It lets an error be built where it arises,
    /// in functions that take no `Env`.
    // It is const: clippy misreads the OS-key expansion std uses on windows-gnu and says otherwise.
    #[allow(clippy::missing_const_for_thread_local)]
    static ENV: Cell<Option<sys::napi_env>> = const { Cell::new(None) };
}

// Called only by the addon's registration, which napi-derive leaves out of test builds.
#[cfg_attr(test, allow(dead_code))]
#[napi(module_exports)]
pub fn record_env(_exports: Object, env: Env) {
    ENV.with(|e| e.set(Some(env.raw())));
}

/// A failure of the core, as the binding throws it.
pub fn to_napi(e: &Error) -> NapiError {
    let path = e.path().map(|p| p.to_string_lossy());
    build(
        e.code(),
        &e.detail(),
        path.as_deref(),
        e.syscall(),
        e.is_os(),
    )
}

/// One of the package's own errors, with no path: `ERR_MMAP_EXTERNAL_BUFFERS`, or
/// `ERR_MMAP_INTERNAL` for a broken invariant.
pub fn own(code: &str, message: impl Into<String>) -> NapiError {
    build(code, &message.into(), None, None, false)
}

/// A call the TypeScript layer should never have made (its checks come first): a bug of ours.
pub fn internal(message: impl Into<String>) -> NapiError {
    own(INTERNAL, message)
}

/// A failure of Node-API itself, which no user input should cause.
pub fn from_status(what: &str, status: sys::napi_status) -> NapiError {
    internal(format!("{what} failed with napi status {status}"))
}

fn build(
    code: &str,
    message: &str,
    path: Option<&str>,
    syscall: Option<&str>,
    os: bool,
) -> NapiError {
    // Without an environment (an error built off a JavaScript thread: a bug) or if Node-API
    // fails to make the object, this is not one of ours to js/errors.ts, so it surfaces as
    // ERR_MMAP_INTERNAL, the detail kept in its text.
    let plain = || napi::Error::new(Status::GenericFailure, format!("{code}: {message}"));
    let Some(raw) = ENV.with(Cell::get) else {
        return plain();
    };
    // Valid: recorded on this thread at load, and this runs on it during a call from
    // JavaScript (a task's off-thread `compute` builds no error, see FlushTask).
    let env = Env::from_raw(raw);
    let made = || -> napi::Result<NapiError> {
        let mut object = env.create_error(napi::Error::new(Status::GenericFailure, message))?;
        object.set_named_property("name", NAME)?;
        object.set_named_property("code", code)?;
        if let Some(path) = path {
            object.set_named_property("path", path)?;
        }
        if let Some(syscall) = syscall {
            object.set_named_property("syscall", syscall)?;
        }
        object.set_named_property("os", os)?;
        Ok(napi::Error::from_unknown_without_coercion(
            object.to_unknown(),
        ))
    };
    made().unwrap_or_else(|_| plain())
}

pub trait IntoNapi<T> {
    fn napi(self) -> Result<T>;
}

impl<T> IntoNapi<T> for std::result::Result<T, Error> {
    fn napi(self) -> Result<T> {
        self.map_err(|e| to_napi(&e))
    }
}
