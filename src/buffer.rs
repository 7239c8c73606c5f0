//! The one external ArrayBuffer of each mapping, and the finalizer that unmaps it.

use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, OnceLock};

use napi::sys;

use crate::error::{self, Result};
use crate::mapping::Slot;

/// Wraps `len` bytes at `data` in an ArrayBuffer that V8 neither copies nor frees. The buffer
/// holds a reference to `slot`; when it is collected the finalizer unmaps, unless `close()`
/// did so first.
///
/// napi-rs's `ArrayBuffer::from_external` is not used: where the runtime refuses external
/// buffers (Electron's V8 sandbox) it silently copies, and writes to a copy of a mapping would
/// never reach the file. Here that case is the `ERR_MMAP_EXTERNAL_BUFFERS` error.
///
/// # Safety
/// `data` must stay valid for `len` bytes until `slot` releases its mapping, and the caller
/// must detach the buffer before releasing the mapping in any way other than the finalizer.
pub unsafe fn external(
    env: sys::napi_env,
    slot: &Arc<Slot>,
    data: *mut u8,
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
    let hint = Box::into_raw(Box::new(Arc::clone(slot))).cast::<c_void>();
    let status = if runtime_forbids_external_buffers_for_test() {
        sys::Status::napi_no_external_buffers_allowed
    } else {
        // SAFETY: env is live; data/len describe the mapping (caller's contract); `hint` is a
        // leaked Box<Arc<Slot>> that `finalize` takes back exactly once.
        unsafe {
            sys::napi_create_external_arraybuffer(
                env,
                data.cast(),
                len,
                Some(finalize),
                hint,
                &mut value,
            )
        }
    };
    if status != sys::Status::napi_ok {
        // Node may already have run the finalizer on failure (node::Buffer::New frees through
        // it when the length is over its limit); the flag on the slot, which `slot` keeps
        // alive, says whether the hint is still ours to reclaim.
        if !slot.finalized() {
            // SAFETY: the finalizer has not run and never will for a buffer that was not
            // created, so the leaked Box<Arc<Slot>> is still ours, reclaimed once here.
            drop(unsafe { Box::from_raw(hint.cast::<Arc<Slot>>()) });
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

/// Runs when V8 collects the buffer, possibly a turn after `close()` detached it.
unsafe extern "C" fn finalize(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the Box<Arc<Slot>> leaked in `external`, and V8 calls the finalizer
    // once per buffer.
    let slot = unsafe { Box::from_raw(hint.cast::<Arc<Slot>>()) };
    slot.mark_finalized();
    // Idempotent: a `close()` that already unmapped left `None` behind.
    slot.release();
}

pub fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(error::from_status(what, status))
    }
}
