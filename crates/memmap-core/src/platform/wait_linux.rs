//! Linux: shared futexes. `FUTEX_WAIT` / `FUTEX_WAKE` without `FUTEX_PRIVATE_FLAG` key a
//! `MAP_SHARED` mapping by its file and offset (man 2 futex), so every process mapping the same
//! page meets on it; `FUTEX_WAKE` returns how many it woke. A cancellable wait also sleeps on a
//! process-private word with `futex_waitv` (Linux 5.16+); before that it sleeps in slices of
//! `CANCEL_SLICE` and looks at the cancel flag between them.

use std::io;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::wait::{remaining, Key, WaitResult, CANCEL_SLICE};

pub const WAIT_CALL: &str = "futex";
pub const WAKE_CALL: &str = "futex";

#[derive(Debug)]
pub struct Cancel {
    /// 0 while live, 1 once cancelled: `futex_waitv` sleeps on it (private) beside the element.
    word: Box<AtomicI32>,
}

impl Cancel {
    pub fn new() -> io::Result<Self> {
        Ok(Cancel {
            word: Box::new(AtomicI32::new(0)),
        })
    }

    pub fn cancel(&self) {
        self.word.store(1, Ordering::SeqCst);
        // SAFETY: the word is this process's own memory, alive as long as `self`.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                i32::MAX,
            )
        };
    }

    fn is_cancelled(&self) -> bool {
        self.word.load(Ordering::SeqCst) != 0
    }
}

/// Cleared once `futex_waitv` says ENOSYS (kernel older than 5.16, or a seccomp filter).
static WAITV: AtomicBool = AtomicBool::new(true);

const FUTEX2_SIZE_U32: u32 = 0x02;
const FUTEX2_PRIVATE: u32 = libc::FUTEX_PRIVATE_FLAG as u32;

#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(i32::MAX as u64) as _,
        tv_nsec: d.subsec_nanos() as _,
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// One `FUTEX_WAIT` of at most `timeout`: Ok(true) when woken, Ok(false) on timeout or EINTR.
///
/// # Safety
/// `addr` is a live, aligned `i32`.
unsafe fn futex_wait(
    addr: *const AtomicI32,
    expected: i32,
    timeout: Option<Duration>,
) -> io::Result<Option<bool>> {
    let ts = timeout.map(timespec);
    let tsp = ts
        .as_ref()
        .map_or(ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `addr` is valid (caller); `tsp` is null or points at `ts`, alive for the call.
    let r = unsafe { libc::syscall(libc::SYS_futex, addr, libc::FUTEX_WAIT, expected, tsp) };
    if r == 0 {
        return Ok(Some(true));
    }
    match errno() {
        libc::EAGAIN => Ok(None),
        libc::ETIMEDOUT | libc::EINTR => Ok(Some(false)),
        _ => Err(io::Error::last_os_error()),
    }
}

/// # Safety
/// `key.addr` is a live, aligned `i32` for the whole call.
pub unsafe fn wait(
    key: &Key,
    expected: i32,
    deadline: Option<Instant>,
    cancel: Option<&crate::wait::Cancel>,
) -> io::Result<WaitResult> {
    let cancel = cancel.map(|c| &c.inner);
    // SAFETY: the caller's contract.
    let value = unsafe { &*key.addr };
    loop {
        if cancel.is_some_and(Cancel::is_cancelled) {
            return Ok(WaitResult::TimedOut);
        }
        if value.load(Ordering::SeqCst) != expected {
            return Ok(WaitResult::NotEqual);
        }
        let left = remaining(deadline);
        if left == Some(Duration::ZERO) {
            return Ok(WaitResult::TimedOut);
        }
        let slice = match cancel {
            Some(c) if WAITV.load(Ordering::Relaxed) => {
                // SAFETY: both words are live and aligned for the call.
                match unsafe { waitv(key.addr, expected, c, deadline) } {
                    Ok(Some(r)) => return Ok(r),
                    Ok(None) => continue, // EINTR
                    Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                        WAITV.store(false, Ordering::Relaxed);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            Some(_) => Some(left.map_or(CANCEL_SLICE, |l| l.min(CANCEL_SLICE))),
            None => left,
        };
        // SAFETY: the caller's contract.
        match unsafe { futex_wait(key.addr, expected, slice) }? {
            Some(true) => return Ok(WaitResult::Ok),
            None => return Ok(WaitResult::NotEqual),
            Some(false) => continue, // timeout of a slice, EINTR: the loop decides
        }
    }
}

/// `futex_waitv` on the element (shared) and the cancel word (private). `Ok(None)`: EINTR.
///
/// # Safety
/// `addr` is a live, aligned `i32`.
unsafe fn waitv(
    addr: *const AtomicI32,
    expected: i32,
    cancel: &Cancel,
    deadline: Option<Instant>,
) -> io::Result<Option<WaitResult>> {
    let waiters = [
        FutexWaitv {
            val: expected as u32 as u64,
            uaddr: addr as u64,
            flags: FUTEX2_SIZE_U32,
            reserved: 0,
        },
        FutexWaitv {
            val: 0,
            uaddr: cancel.word.as_ptr() as u64,
            flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
            reserved: 0,
        },
    ];
    // futex_waitv takes an absolute CLOCK_MONOTONIC time.
    let abs = match remaining(deadline) {
        None => None,
        Some(left) => {
            let mut now = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `now` is a valid out-parameter.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
            let d = Duration::new(now.tv_sec as u64, now.tv_nsec as u32).saturating_add(left);
            Some(timespec(d))
        }
    };
    let tsp = abs
        .as_ref()
        .map_or(ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `waiters` and `tsp` point at live values for the call; both addresses are live.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            waiters.as_ptr(),
            2u32,
            0u32,
            tsp,
            libc::CLOCK_MONOTONIC,
        )
    };
    match r {
        0 => Ok(Some(WaitResult::Ok)),
        1 => Ok(Some(WaitResult::TimedOut)), // the cancel word: the caller sees the flag
        _ => match errno() {
            // A word differs: the element, or the cancel word (the caller checks the flag).
            libc::EAGAIN => Ok(Some(if cancel.is_cancelled() {
                WaitResult::TimedOut
            } else {
                WaitResult::NotEqual
            })),
            libc::ETIMEDOUT => Ok(Some(WaitResult::TimedOut)),
            libc::EINTR => Ok(None),
            _ => Err(io::Error::last_os_error()),
        },
    }
}

/// # Safety
/// `key.addr` is a live, aligned `i32` for the whole call.
pub unsafe fn notify(key: &Key, count: u32) -> io::Result<usize> {
    let count = count.min(i32::MAX as u32) as i32;
    // SAFETY: the caller's contract; FUTEX_WAKE only uses the address as a key.
    let r = unsafe { libc::syscall(libc::SYS_futex, key.addr, libc::FUTEX_WAKE, count) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wait::Cancel as Outer;
    use crate::Mapping;
    use std::sync::Arc;

    /// Kernels before 5.16 (or a seccomp filter) have no futex_waitv: a cancel is then seen
    /// between two slices of `CANCEL_SLICE`. Other tests running meanwhile only sleep in slices.
    #[test]
    fn sliced_cancel_without_futex_waitv() {
        WAITV.store(false, Ordering::Relaxed);
        let map = Arc::new(Mapping::shared_anonymous(8).unwrap());
        let cancel = Arc::new(Outer::new().unwrap());
        let waiter = {
            let (map, cancel) = (Arc::clone(&map), Arc::clone(&cancel));
            std::thread::spawn(move || map.wait_cancellable(0, 0, None, Some(&cancel)).unwrap())
        };
        std::thread::sleep(Duration::from_millis(120));
        let start = Instant::now();
        cancel.cancel();
        let r = waiter.join().unwrap();
        let took = start.elapsed();
        // A notify still wakes a sliced waiter.
        let waiter = {
            let map = Arc::clone(&map);
            let cancel = Arc::new(Outer::new().unwrap());
            std::thread::spawn(move || map.wait_cancellable(4, 0, None, Some(&cancel)).unwrap())
        };
        let mut woken = 0;
        for _ in 0..2000 {
            woken = map.notify(4, 1).unwrap();
            if woken > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        WAITV.store(true, Ordering::Relaxed);
        assert_eq!(r, None);
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(woken, 1);
        assert_eq!(waiter.join().unwrap(), Some(WaitResult::Ok));
    }
}
