//! macOS: `os_sync_wait_on_address_with_timeout` / `os_sync_wake_by_address_any` with
//! `OS_SYNC_WAIT_ON_ADDRESS_SHARED` / `OS_SYNC_WAKE_BY_ADDRESS_SHARED` (macOS 14.4+, looked up
//! with `dlsym` so the binary still loads on older systems), else the private but stable
//! `__ulock_wait` / `__ulock_wake` with `UL_COMPARE_AND_WAIT_SHARED`, which libc++'s
//! `std::atomic::wait` uses. Neither can sleep on a second, private word, so a cancellable wait
//! sleeps in slices of `CANCEL_SLICE`.
//!
//! Compiled and linked for both darwin targets; not run (no Mac was available).

use std::ffi::{c_int, c_void};
use std::io;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::wait::{remaining, Key, WaitResult, CANCEL_SLICE};

pub const WAIT_CALL: &str = "os_sync_wait_on_address";
pub const WAKE_CALL: &str = "os_sync_wake_by_address_any";

pub(crate) use crate::wait::Sliced as Cancel;

const OS_SYNC_WAIT_ON_ADDRESS_SHARED: u32 = 1;
const OS_SYNC_WAKE_BY_ADDRESS_SHARED: u32 = 1;
const OS_CLOCK_MACH_ABSOLUTE_TIME: u32 = 32;
const UL_COMPARE_AND_WAIT_SHARED: u32 = 3;

type WaitFn = unsafe extern "C" fn(*mut c_void, u64, usize, u32, u32, u64) -> c_int;
type WakeFn = unsafe extern "C" fn(*mut c_void, usize, u32) -> c_int;

extern "C" {
    fn __ulock_wait(operation: u32, addr: *mut c_void, value: u64, timeout_us: u32) -> c_int;
    fn __ulock_wake(operation: u32, addr: *mut c_void, wake_value: u64) -> c_int;
}

struct OsSync {
    wait: WaitFn,
    wake_any: WakeFn,
}

fn os_sync() -> Option<&'static OsSync> {
    static FOUND: OnceLock<Option<OsSync>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            // RTLD_DEFAULT on Apple platforms.
            let default = -2isize as *mut c_void;
            // SAFETY: dlsym with RTLD_DEFAULT and NUL-terminated names.
            let wait =
                unsafe { libc::dlsym(default, c"os_sync_wait_on_address_with_timeout".as_ptr()) };
            // SAFETY: as above.
            let wake = unsafe { libc::dlsym(default, c"os_sync_wake_by_address_any".as_ptr()) };
            if wait.is_null() || wake.is_null() {
                return None;
            }
            // SAFETY: the symbols have these signatures in <os/os_sync_wait_on_address.h>.
            Some(unsafe {
                OsSync {
                    wait: std::mem::transmute::<*mut c_void, WaitFn>(wait),
                    wake_any: std::mem::transmute::<*mut c_void, WakeFn>(wake),
                }
            })
        })
        .as_ref()
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// # Safety
/// `key.addr` is a live, aligned `i32` for the whole call.
pub unsafe fn wait(
    key: &Key,
    expected: i32,
    deadline: Option<Instant>,
    cancel: Option<&crate::wait::Cancel>,
) -> io::Result<WaitResult> {
    // SAFETY: the caller's contract.
    let value = unsafe { &*key.addr };
    let addr = key.addr as *mut c_void;
    loop {
        if cancel.is_some_and(crate::wait::Cancel::is_cancelled) {
            return Ok(WaitResult::TimedOut); // the caller sees the flag
        }
        if value.load(Ordering::SeqCst) != expected {
            return Ok(WaitResult::NotEqual);
        }
        let left = remaining(deadline);
        if left == Some(Duration::ZERO) {
            return Ok(WaitResult::TimedOut);
        }
        let slice = match (cancel, left) {
            (Some(_), l) => l.map_or(CANCEL_SLICE, |l| l.min(CANCEL_SLICE)),
            (None, Some(l)) => l,
            (None, None) => Duration::from_secs(3600),
        };
        let r = match os_sync() {
            // SAFETY: `addr` is a live, aligned 4-byte word (caller).
            Some(f) => unsafe {
                (f.wait)(
                    addr,
                    expected as u32 as u64,
                    4,
                    OS_SYNC_WAIT_ON_ADDRESS_SHARED,
                    OS_CLOCK_MACH_ABSOLUTE_TIME,
                    slice.as_nanos().clamp(1, u64::MAX as u128) as u64,
                )
            },
            // SAFETY: as above; 0 would mean "no timeout", so at least 1 µs.
            None => unsafe {
                __ulock_wait(
                    UL_COMPARE_AND_WAIT_SHARED,
                    addr,
                    expected as u32 as u64,
                    slice.as_micros().clamp(1, u32::MAX as u128) as u32,
                )
            },
        };
        if r >= 0 {
            // Woken; or the value changed just before the kernel looked (a store that a notify
            // follows): reported as woken, as Atomics.wait would after that notify.
            return Ok(WaitResult::Ok);
        }
        match errno() {
            libc::ETIMEDOUT | libc::EINTR => continue, // the loop decides
            _ => return Err(io::Error::last_os_error()),
        }
    }
}

/// # Safety
/// `key.addr` is a live, aligned `i32` for the whole call.
pub unsafe fn notify(key: &Key, count: u32) -> io::Result<usize> {
    let addr = key.addr as *mut c_void;
    let mut woken = 0;
    while woken < count as usize {
        let r = match os_sync() {
            // SAFETY: `addr` is a live, aligned 4-byte word (caller).
            Some(f) => unsafe { (f.wake_any)(addr, 4, OS_SYNC_WAKE_BY_ADDRESS_SHARED) },
            // SAFETY: as above.
            None => unsafe { __ulock_wake(UL_COMPARE_AND_WAIT_SHARED, addr, 0) },
        };
        if r < 0 {
            match errno() {
                libc::ENOENT => break,
                libc::EINTR => continue,
                _ => return Err(io::Error::last_os_error()),
            }
        }
        woken += 1;
    }
    Ok(woken)
}
