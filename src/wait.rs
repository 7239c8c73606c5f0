//! `wait`, `waitAsync` and `notify` on an int32 of a mapping, across processes (memmap-core's
//! `wait`). The TypeScript layer has checked the dtype and the index; the core checks bounds
//! and alignment again.
//!
//! `waitAsync` never uses libuv's threadpool (4 threads, shared with fs, dns and crypto): each
//! pending wait sleeps on its own OS thread with a 64 KiB stack, holding the mapping (an
//! `Arc`), so the memory cannot be unmapped under it. The promise settles through a
//! `JsDeferred` (a threadsafe function), which keeps the event loop alive while it is pending.
//! `close()`, or collection of the mapping, cancels the pending waits (`memmap_core::Cancel`:
//! at once on Linux 5.16+ and Windows, within 50 ms on macOS and older Linux) and they reject
//! with `ERR_MMAP_CLOSED`; no other waiter, here or in another process, is woken by it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memmap_core::{Cancel, Error, WaitResult};
use napi::bindgen_prelude::Object;
use napi::Env;
use napi_derive::napi;

use crate::args;
use crate::error::{self, IntoNapi, Result};
use crate::mapping::Mapping;

const STACK: usize = 64 * 1024;

/// The cancels of pending `waitAsync`s, by mapping (`Mapping::wait_id`), then by wait.
type Pending = HashMap<usize, HashMap<u64, Arc<Cancel>>>;
static PENDING: Mutex<Option<Pending>> = Mutex::new(None);
static NEXT: AtomicU64 = AtomicU64::new(0);

fn pending() -> std::sync::MutexGuard<'static, Option<Pending>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ends every pending `waitAsync` on the mapping `id`: each rejects with `ERR_MMAP_CLOSED`.
pub(crate) fn cancel_all(id: usize) {
    let taken = pending().as_mut().and_then(|p| p.remove(&id));
    for cancel in taken.into_iter().flat_map(HashMap::into_values) {
        cancel.cancel();
    }
}

fn register(id: usize, cancel: Arc<Cancel>) -> u64 {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    pending()
        .get_or_insert_with(HashMap::new)
        .entry(id)
        .or_default()
        .insert(n, cancel);
    n
}

fn unregister(id: usize, n: u64) {
    if let Some(p) = pending().as_mut() {
        if let Some(waits) = p.get_mut(&id) {
            waits.remove(&n);
            if waits.is_empty() {
                p.remove(&id);
            }
        }
    }
}

/// `timeoutMs`: absent, NaN-free non-negative milliseconds, or Infinity (forever).
fn timeout(ms: Option<f64>) -> Result<Option<Duration>> {
    match ms {
        None => Ok(None),
        Some(ms) if ms == f64::INFINITY => Ok(None),
        Some(ms) if ms >= 0.0 && ms.is_finite() => Ok(Some(Duration::from_secs_f64(ms / 1000.0))),
        Some(ms) => Err(error::internal(format!(
            "the TypeScript layer let through timeoutMs {ms}, not a non-negative number or Infinity"
        ))),
    }
}

#[napi]
impl Mapping {
    /// Sleeps on this thread while the int32 at `byteOffset` holds `expected`, until a
    /// `notify` on it from any process mapping the same memory, or `timeoutMs`.
    #[napi(ts_return_type = "'ok' | 'not-equal' | 'timed-out'")]
    pub fn wait(
        &self,
        byte_offset: f64,
        expected: i32,
        timeout_ms: Option<f64>,
    ) -> Result<&'static str> {
        let map = self.live()?;
        let at = args::usize_of("byteOffset", byte_offset)?;
        let timeout = timeout(timeout_ms)?;
        map.wait(at, expected, timeout)
            .map(WaitResult::as_str)
            .napi()
    }

    /// `wait` off the main thread: a promise of the same result, or `ERR_MMAP_CLOSED` if the
    /// mapping is closed (or collected) first.
    #[napi(ts_return_type = "Promise<'ok' | 'not-equal' | 'timed-out'>")]
    pub fn wait_async<'env>(
        &self,
        env: &'env Env,
        byte_offset: f64,
        expected: i32,
        timeout_ms: Option<f64>,
    ) -> Result<Object<'env>> {
        let map = self.live()?;
        let at = args::usize_of("byteOffset", byte_offset)?;
        let timeout = timeout(timeout_ms)?;
        let (deferred, promise) = env
            .create_deferred()
            .map_err(|e| error::internal(format!("napi_create_promise: {e}")))?;
        // Settled at once, without a thread: bad offsets, a value that differs, no timeout left.
        let now = map.wait(at, expected, Some(Duration::ZERO)).napi()?;
        if now == WaitResult::NotEqual || timeout == Some(Duration::ZERO) {
            deferred.resolve(settle(Ok(now)));
            return Ok(promise);
        }
        let cancel = Arc::new(Cancel::new().napi()?);
        let id = self.wait_id();
        let n = register(id, Arc::clone(&cancel));
        let path = map.path().map(|p| p.to_path_buf());
        let spawned = std::thread::Builder::new()
            .name("memmap-wait".into())
            .stack_size(STACK)
            .spawn(move || {
                let r = map.wait_cancellable(at, expected, timeout, Some(&cancel));
                unregister(id, n);
                // Unmapped here, off the main thread, if this was the last holder.
                drop(map);
                let outcome = match r {
                    Ok(Some(r)) => Ok(r),
                    Ok(None) => Err(Error::closed(
                        "the array was closed while waitAsync() was pending",
                        path.as_deref(),
                    )),
                    Err(e) => Err(e),
                };
                // Settled on the JavaScript thread, where the error object can be made.
                deferred.resolve(settle(outcome));
            });
        if let Err(e) = spawned {
            unregister(id, n);
            return Err(error::internal(format!(
                "waitAsync could not start a thread: {e}"
            )));
        }
        Ok(promise)
    }

    /// Wakes up to `count` waiters on the int32 at `byteOffset` (default: all), in every
    /// process; returns how many were woken.
    #[napi]
    pub fn notify(&self, byte_offset: f64, count: Option<f64>) -> Result<u32> {
        let map = self.live()?;
        let at = args::usize_of("byteOffset", byte_offset)?;
        let count = match count {
            None => u32::MAX,
            Some(c) if c >= 0.0 => c.min(f64::from(u32::MAX)) as u32,
            Some(c) => {
                return Err(error::internal(format!(
                    "the TypeScript layer let through count {c}, not a non-negative number"
                )))
            }
        };
        let woken = map.notify(at, count).napi()?;
        Ok(u32::try_from(woken).unwrap_or(u32::MAX))
    }
}

/// The deferred's one resolver type: run on the JavaScript thread, where an error's object (with
/// its code and path) can be made, so a rejection carries what a thrown error does.
fn settle(
    outcome: std::result::Result<WaitResult, Error>,
) -> impl FnOnce(Env) -> napi::Result<&'static str> {
    move |_| {
        outcome
            .map(WaitResult::as_str)
            .map_err(|e| error::to_napi(&e))
    }
}
