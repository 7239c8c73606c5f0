//! Other systems: no cross-process wait primitive is wired up, so a wait polls the element
//! every millisecond and `notify` wakes no one (it returns 0). Not a shipped target.

use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::wait::{remaining, Key, WaitResult};

pub const WAIT_CALL: &str = "wait";
pub const WAKE_CALL: &str = "notify";

pub(crate) use crate::wait::Sliced as Cancel;

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
    if value.load(Ordering::SeqCst) != expected {
        return Ok(WaitResult::NotEqual);
    }
    loop {
        if value.load(Ordering::SeqCst) != expected {
            return Ok(WaitResult::Ok);
        }
        if remaining(deadline) == Some(Duration::ZERO)
            || cancel.is_some_and(crate::wait::Cancel::is_cancelled)
        {
            return Ok(WaitResult::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// # Safety
/// Nothing is touched.
pub unsafe fn notify(_key: &Key, _count: u32) -> io::Result<usize> {
    Ok(0)
}
