//! External ArrayBuffers over a mapping, and the finalizer that lets go of it.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use napi::sys;

use crate::error::{self, Result};
use crate::mapping::Slot;

/// What each buffer's finalizer gets: the mapping it keeps alive and where the buffer starts.
struct Hint {
    slot: Arc<Slot>,
    offset: usize,
    finalized: Arc<AtomicBool>,
}

/// Wraps `len` bytes at `base + offset` in an ArrayBuffer that V8 neither copies nor frees.
/// The buffer keeps `slot` (and so the mapping) alive until it is collected.
///
/// napi-rs's `ArrayBuffer::from_external` is not used: where the runtime refuses external
/// buffers (Electron's V8 sandbox) it silently copies, and writes to a copy of a mapping would
/// never reach the file. Here that case is the `ERR_MMAP_EXTERNAL_BUFFERS` error.
///
/// # Safety
/// `base + offset .. + len` must lie inside the mapping held by `slot`, and the mapping must
/// not be released while the buffer is attached: `close()` detaches every buffer first.
pub unsafe fn external(
    env: sys::napi_env,
    slot: &Arc<Slot>,
    base: *mut u8,
    offset: usize,
    len: usize,
) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    if len == 0 {
        // V8 rejects a null external pointer, and there is nothing to map anyway.
        let mut unused = ptr::null_mut();
        // SAFETY: env is the live environment of this call; both out-pointers are valid.
        let status = unsafe { sys::napi_create_arraybuffer(env, 0, &mut unused, &mut value) };
        return check(status, "napi_create_arraybuffer").map(|()| value);
    }
    let finalized = Arc::new(AtomicBool::new(false));
    let hint = Box::into_raw(Box::new(Hint {
        slot: Arc::clone(slot),
        offset,
        finalized: Arc::clone(&finalized),
    }))
    .cast::<c_void>();
    let status = if runtime_forbids_external_buffers_for_test() {
        sys::Status::napi_no_external_buffers_allowed
    } else {
        // SAFETY: env is live; the range is inside the mapping (caller's contract); `hint` is a
        // leaked Box<Hint> that `finalize` takes back exactly once.
        unsafe {
            sys::napi_create_external_arraybuffer(
                env,
                base.add(offset).cast(),
                len,
                Some(finalize),
                hint,
                &mut value,
            )
        }
    };
    if status != sys::Status::napi_ok {
        // Node may already have run the finalizer on failure (node::Buffer::New frees through
        // it when the length is over its limit); the flag says whether the hint is still ours.
        if !finalized.load(Ordering::SeqCst) {
            // SAFETY: the finalizer has not run and never will for a buffer that was not
            // created, so the leaked Box<Hint> is still ours, reclaimed once here.
            drop(unsafe { Box::from_raw(hint.cast::<Hint>()) });
        }
        if status == sys::Status::napi_no_external_buffers_allowed {
            return Err(error::own(
                error::EXTERNAL_BUFFERS,
                "this runtime forbids external ArrayBuffers (V8 sandbox, e.g. Electron), so a \
                 file cannot be mapped into JavaScript without copying it",
            ));
        }
        return Err(error::from_status(
            "napi_create_external_arraybuffer",
            status,
        ));
    }
    slot.attach(offset);
    Ok(value)
}

/// Node cannot be made to refuse external buffers, so the test suite sets
/// `MEMMAP_TEST_NO_EXTERNAL_BUFFERS=1` to drive the refusal branch above as Electron would.
fn runtime_forbids_external_buffers_for_test() -> bool {
    static FORBID: OnceLock<bool> = OnceLock::new();
    *FORBID.get_or_init(|| {
        std::env::var_os("MEMMAP_TEST_NO_EXTERNAL_BUFFERS").is_some_and(|v| v == "1")
    })
}

/// Runs when V8 collects a buffer, possibly a turn after `close()` detached it. It only lets go
/// of its reference: the mapping is unmapped by `close()`, or when nothing refers to it.
unsafe extern "C" fn finalize(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the Box<Hint> leaked in `external`, and V8 calls the finalizer once
    // per buffer.
    let hint = unsafe { Box::from_raw(hint.cast::<Hint>()) };
    hint.finalized.store(true, Ordering::SeqCst);
    hint.slot.detached(hint.offset);
}

pub fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(error::from_status(what, status))
    }
}
