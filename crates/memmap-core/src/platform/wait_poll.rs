//! Other systems: no cross-process wait primitive is wired up, so a wait polls the element
//! every millisecond and `notify` wakes no one (it returns 0). Not a shipped target.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::wait::{remaining, Key, WaitResult};

pub const WAIT_CALL: &str = "wait";
pub const WAKE_CALL: &str = "notify";

#[derive(Debug)]
pub struct Cancel(AtomicBool);

impl Cancel {
    pub fn new() -> io::Result<Self> {
        Ok(Cancel(AtomicBool::new(false)))
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// # Safety
/// `key.addr` is a live, aligned `i32` for the whole call.
pub unsafe fn wait(
    key: &Key,
    expected: i32,
    deadline: Option<Instant>,
    cancel: Option<&Cancel>,
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
            || cancel.is_some_and(|c| c.0.load(Ordering::SeqCst))
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
