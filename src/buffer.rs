//! External ArrayBuffers over a mapping, and the finalizer that lets go of it.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use napi::sys;

use crate::error::{self, Result};
use crate::mapping::Backing;

/// What each buffer's finalizer gets: the mapping it keeps alive, where the buffer starts, and
/// which buffer it is (a later buffer may start at the same offset).
struct Hint {
    backing: Arc<Backing>,
    offset: usize,
    id: u64,
}

/// Tells buffers apart for the backing's attached set, across every mapping of the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Wraps `len` bytes at `base + offset` in an ArrayBuffer that V8 neither copies nor frees.
/// The buffer keeps `backing` (and so the mapping) alive until it is collected.
///
/// napi-rs's `ArrayBuffer::from_external` is not used: where the runtime refuses external
/// buffers (Electron's V8 sandbox) it silently copies, and writes to a copy of a mapping would
/// never reach the file. Here that case is the `ERR_MMAP_EXTERNAL_BUFFERS` error.
///
/// # Safety
/// `base + offset .. + len` must lie inside the mapping held by `backing`, and the mapping must
/// not be released while the buffer is attached: `close()` detaches every buffer first.
pub unsafe fn external(
    env: sys::napi_env,
    backing: &Arc<Backing>,
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
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let hint = Box::into_raw(Box::new(Hint {
        backing: Arc::clone(backing),
        offset,
        id,
    }))
    .cast::<c_void>();
    let refusal = refusal_for_test();
    let status = if refusal != Refusal::None {
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
        // The hint is leaked, never freed here: whether the finalizer already ran, runs later or
        // never runs depends on the runtime (Node runs it synchronously on some failures; one
        // that defers finalizers, as Bun does, would run it after a free here: a double free).
        // The leak is one small Box and a reference to the backing, whose mapping `close()` still
        // unmaps. If the finalizer does run, its `id` matches no attached buffer.
        if refusal == Refusal::ThenFinalize {
            // SAFETY: as a runtime that defers finalizers would, once, with the hint it was given.
            unsafe { finalize(env, ptr::null_mut(), hint) };
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
    backing.attach(offset, id);
    Ok(value)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusal {
    None,
    /// Refuse, as Electron's V8 sandbox does.
    Refuse,
    /// Refuse, then run the finalizer after the failure was handled, as a runtime that defers
    /// finalizers (Bun) may: the hint must not have been freed by then.
    ThenFinalize,
}

/// Node cannot be made to refuse external buffers, so the test suite sets
/// `MEMMAP_TEST_NO_EXTERNAL_BUFFERS` to `1` (refuse) or `late-finalizer` (refuse, then
/// finalize) to drive the failure branch above.
fn refusal_for_test() -> Refusal {
    static REFUSAL: OnceLock<Refusal> = OnceLock::new();
    *REFUSAL.get_or_init(
        || match std::env::var("MEMMAP_TEST_NO_EXTERNAL_BUFFERS").as_deref() {
            Ok("1") => Refusal::Refuse,
            Ok("late-finalizer") => Refusal::ThenFinalize,
            _ => Refusal::None,
        },
    )
}

/// Runs when V8 collects a buffer, possibly a turn after `close()` detached it. It only lets go
/// of its reference: the mapping is unmapped by `close()`, or when nothing refers to it.
unsafe extern "C" fn finalize(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the Box<Hint> leaked in `external`; V8 calls the finalizer at most once
    // per buffer, and `external` never frees a hint itself.
    let hint = unsafe { Box::from_raw(hint.cast::<Hint>()) };
    hint.backing.detached(hint.offset, hint.id);
}

pub fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(error::from_status(what, status))
    }
}
