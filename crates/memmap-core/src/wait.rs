//! Sleeping on an `i32` of a mapping until another process changes it and says so: the
//! cross-process counterpart of `Atomics.wait` / `Atomics.notify` (whose waiters V8 keeps in a
//! per-process list).
//!
//! | platform | mechanism |
//! | --- | --- |
//! | Linux | `futex(FUTEX_WAIT / FUTEX_WAKE)` without `FUTEX_PRIVATE_FLAG`: the kernel keys a shared mapping's futex by file and offset, so every process mapping it meets there. A cancellable wait is `futex_waitv` (5.16+) on the word and a private cancel word. |
//! | macOS | `os_sync_wait_on_address_with_timeout` / `os_sync_wake_by_address_any` with the `SHARED` flags (14.4+, found with `dlsym`), else `__ulock_wait` / `__ulock_wake` with `UL_COMPARE_AND_WAIT_SHARED` (what libc++ uses). |
//! | Windows | `WaitOnAddress` is process-local: named kernel objects keyed by the mapped object (file: volume serial and file id; region: its name) and the byte offset. A named mutex orders waiters against notifiers, a named semaphore counts registered waiters, another carries wake-ups. |
//!
//! Neither `std` nor the `atomic-wait` crate fits: both use process-private futexes (and
//! `WaitOnAddress` on Windows).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::file::Mapping;

#[cfg(target_os = "linux")]
#[path = "platform/wait_linux.rs"]
mod sys;
#[cfg(target_vendor = "apple")]
#[path = "platform/wait_apple.rs"]
mod sys;
#[cfg(windows)]
#[path = "platform/wait_windows.rs"]
mod sys;
#[cfg(not(any(target_os = "linux", target_vendor = "apple", windows)))]
#[path = "platform/wait_poll.rs"]
mod sys;

/// How a wait ended, as `Atomics.wait` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitResult {
    /// Woken by a notify (rarely: spuriously, see the platform notes).
    Ok,
    /// The element did not hold the expected value when the wait began.
    NotEqual,
    /// The timeout passed.
    TimedOut,
}

impl WaitResult {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitResult::Ok => "ok",
            WaitResult::NotEqual => "not-equal",
            WaitResult::TimedOut => "timed-out",
        }
    }
}

/// Ends a [`Mapping::wait_cancellable`] early, from another thread, without waking any other
/// waiter (in this process or another).
#[derive(Debug)]
pub struct Cancel {
    cancelled: AtomicBool,
    /// A process-private futex word (Linux) / what `sys` needs to interrupt a wait.
    inner: sys::Cancel,
}

impl Cancel {
    pub fn new() -> Result<Self> {
        Ok(Cancel {
            cancelled: AtomicBool::new(false),
            inner: sys::Cancel::new().map_err(|e| Error::io(e, "CreateEvent", None))?,
        })
    }

    /// Ends the wait (now, or as soon as it begins). Idempotent.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.inner.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// The platform part of a [`Cancel`] where nothing can interrupt a sleep (macOS, other
/// systems): the wait sleeps in slices and reads [`Cancel::is_cancelled`] between them.
#[cfg(not(any(target_os = "linux", windows)))]
#[derive(Debug)]
pub(crate) struct Sliced;

#[cfg(not(any(target_os = "linux", windows)))]
impl Sliced {
    pub fn new() -> std::io::Result<Self> {
        Ok(Sliced)
    }

    pub fn cancel(&self) {}
}

/// Where the platform waits: the address, and on Windows the name of the object behind it.
pub(crate) struct Key {
    pub addr: *const AtomicI32,
    #[cfg_attr(not(windows), allow(dead_code))]
    pub name: String,
}

/// Longest single sleep where a wait cannot be interrupted directly (macOS, Linux before 5.16):
/// the latency of [`Cancel::cancel`] there.
pub const CANCEL_SLICE: Duration = Duration::from_millis(50);

impl Mapping {
    /// The `i32` at `byte_offset`, checked: inside the mapping and 4-byte aligned.
    fn wait_key(&self, byte_offset: usize) -> Result<Key> {
        self.check_range(byte_offset, 4)?;
        let addr = self.as_mut_ptr().wrapping_add(byte_offset);
        if !(addr as usize).is_multiple_of(4) {
            return Err(Error::alignment(
                format!("byte offset {byte_offset} is not the address of an int32"),
                self.path(),
            ));
        }
        Ok(Key {
            addr: addr as *const AtomicI32,
            name: self.wait_name(byte_offset),
        })
    }

    /// Sleeps while the `i32` at `byte_offset` holds `expected`, until a [`notify`](Self::notify)
    /// on the same element by any process that maps the same memory, or `timeout` (`None`:
    /// forever). A private mapping (`Mode::ReadOnly`, `Mode::CopyOnWrite`) is seen only by
    /// this process.
    pub fn wait(
        &self,
        byte_offset: usize,
        expected: i32,
        timeout: Option<Duration>,
    ) -> Result<WaitResult> {
        self.wait_cancellable(byte_offset, expected, timeout, None)
            .map(|r| r.unwrap_or(WaitResult::TimedOut))
    }

    /// [`wait`](Self::wait) that `cancel` can end from another thread: `Ok(None)` then.
    /// Latency of a cancel: immediate on Linux 5.16+ and Windows, at most [`CANCEL_SLICE`]
    /// elsewhere.
    pub fn wait_cancellable(
        &self,
        byte_offset: usize,
        expected: i32,
        timeout: Option<Duration>,
        cancel: Option<&Cancel>,
    ) -> Result<Option<WaitResult>> {
        let key = self.wait_key(byte_offset)?;
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // SAFETY: `key.addr` is an aligned i32 inside this mapping, which `&self` keeps mapped
        // for the whole call.
        let r = unsafe { sys::wait(&key, expected, deadline, cancel) };
        match r {
            Err(e) => Err(Error::io(e, sys::WAIT_CALL, self.path())),
            Ok(_) if cancel.is_some_and(Cancel::is_cancelled) => Ok(None),
            Ok(r) => Ok(Some(r)),
        }
    }

    /// Wakes up to `count` waiters on the `i32` at `byte_offset`, in every process; returns how
    /// many were woken (Windows: how many were registered and handed a wake-up, see `sys`).
    pub fn notify(&self, byte_offset: usize, count: u32) -> Result<usize> {
        let key = self.wait_key(byte_offset)?;
        if count == 0 {
            return Ok(0);
        }
        // SAFETY: as in `wait_cancellable`.
        unsafe { sys::notify(&key, count) }.map_err(|e| Error::io(e, sys::WAKE_CALL, self.path()))
    }

    #[cfg(not(windows))]
    fn wait_name(&self, _byte_offset: usize) -> String {
        String::new()
    }

    /// The name that every process mapping the same element derives: the file's volume serial
    /// and index, or the region's name (hashed), and the element's offset in it.
    #[cfg(windows)]
    fn wait_name(&self, byte_offset: usize) -> String {
        let pid = std::process::id();
        let ident = match (self.file_start(), self.path()) {
            (Some((file, start)), _) => match sys::file_identity(file) {
                Some(id) => format!("f{id}-{}", start + byte_offset as u64),
                None => format!("p{pid}-{:x}", self.as_mut_ptr() as usize + byte_offset),
            },
            (None, Some(name)) => format!(
                "r{:016x}-{byte_offset}",
                fnv1a(name.to_string_lossy().as_bytes())
            ),
            (None, None) => format!("p{pid}-{:x}", self.as_mut_ptr() as usize + byte_offset),
        };
        format!("Local\\memmap-wait-{ident}")
    }
}

#[cfg(windows)]
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Time left until `deadline` (`None`: forever); `Some(ZERO)` once it has passed.
pub(crate) fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn not_equal_timed_out_and_notify() {
        let map = Arc::new(Mapping::shared_anonymous(64).unwrap());
        assert_eq!(map.wait(0, 1, None).unwrap(), WaitResult::NotEqual);
        assert_eq!(
            map.wait(4, 0, Some(Duration::from_millis(10))).unwrap(),
            WaitResult::TimedOut
        );
        assert_eq!(
            map.wait(4, 0, Some(Duration::ZERO)).unwrap(),
            WaitResult::TimedOut
        );
        assert_eq!(map.notify(8, 5).unwrap(), 0);
        let waiter = {
            let map = Arc::clone(&map);
            std::thread::spawn(move || map.wait(8, 0, Some(Duration::from_secs(20))).unwrap())
        };
        let mut woken = 0;
        for _ in 0..2000 {
            woken = map.notify(8, 1).unwrap();
            if woken > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(woken, 1);
        assert_eq!(waiter.join().unwrap(), WaitResult::Ok);
    }

    /// Two opens of one file derive the same wait name: on Windows it is what makes them meet.
    /// (A created file and an open of it do too on Windows; Wine reports volume serial 0 for
    /// the handle of a file created under a temporary name, so that case is checked by the JS
    /// suite, skipped under Wine only.)
    #[test]
    fn one_file_one_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.i32");
        drop(Mapping::create(&path, 16).unwrap());
        let open = || {
            crate::OpenOptions::new()
                .mode(crate::Mode::ReadWrite)
                .open(&path)
                .unwrap()
        };
        let (a, b) = (open(), open());
        assert_eq!(a.wait_name(8), b.wait_name(8));
        #[cfg(windows)]
        {
            assert_ne!(a.wait_name(8), b.wait_name(4));
            assert!(
                a.wait_name(8).starts_with("Local\\memmap-wait-f"),
                "{}",
                a.wait_name(8)
            );
        }
    }

    #[test]
    fn bounds_and_alignment() {
        let map = Mapping::shared_anonymous(8).unwrap();
        assert_eq!(
            map.wait(8, 0, None).unwrap_err().code(),
            "ERR_MMAP_INVALID_ARG"
        );
        assert_eq!(
            map.wait(2, 0, None).unwrap_err().code(),
            "ERR_MMAP_ALIGNMENT"
        );
        assert_eq!(map.notify(6, 1).unwrap_err().code(), "ERR_MMAP_INVALID_ARG");
    }

    #[test]
    fn cancel_ends_a_wait() {
        let map = Arc::new(Mapping::shared_anonymous(8).unwrap());
        let cancel = Arc::new(Cancel::new().unwrap());
        let waiter = {
            let (map, cancel) = (Arc::clone(&map), Arc::clone(&cancel));
            std::thread::spawn(move || map.wait_cancellable(0, 0, None, Some(&cancel)).unwrap())
        };
        std::thread::sleep(Duration::from_millis(30));
        let start = Instant::now();
        cancel.cancel();
        assert_eq!(waiter.join().unwrap(), None);
        assert!(start.elapsed() < Duration::from_secs(5));
        // Cancelled before it begins: returns at once.
        assert_eq!(
            map.wait_cancellable(0, 0, None, Some(&cancel)).unwrap(),
            None
        );
    }
}
