//! Windows: `WaitOnAddress` only wakes threads of the same process, so waiting goes through
//! named kernel objects that every process mapping the same element derives the same name for
//! (`crate::wait`: file volume serial and id, or region name, and the byte offset), in the
//! session's `Local\` namespace:
//!
//! - `<name>-m`, a mutex: a waiter compares the element and registers under it, a notifier
//!   counts and hands out wake-ups under it, so no wake-up falls between a check and a sleep;
//! - `<name>-n`, a semaphore whose count is the number of registered waiters;
//! - `<name>-w`, a semaphore of wake-ups: a notify of `count` takes `k = min(count, registered)`
//!   waiters off the register and releases `k` wake-ups; it returns `k`.
//!
//! A waiter that times out (or is cancelled) takes the mutex and either takes a wake-up left
//! for it (then it reports `ok`: a notify counted it) or unregisters itself, so notify's count
//! is exact among live waiters. A process killed while registered stays counted until every
//! handle to the names is closed: a notify may then count it and leave a wake-up that the next
//! waiter takes at once (a spurious `ok`). The objects vanish when no process holds them.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    HANDLE, WAIT_ABANDONED, WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{
    FileIdInfo, GetFileInformationByHandle, GetFileInformationByHandleEx,
    BY_HANDLE_FILE_INFORMATION, FILE_ID_INFO,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, CreateMutexW, CreateSemaphoreW, ReleaseMutex, ReleaseSemaphore, SetEvent,
    WaitForMultipleObjects, WaitForSingleObject, INFINITE,
};

use crate::wait::{remaining, Key, WaitResult};

pub const WAIT_CALL: &str = "WaitForMultipleObjects";
pub const WAKE_CALL: &str = "ReleaseSemaphore";

/// A private manual-reset event: the second object a wait sleeps on.
#[derive(Debug)]
pub struct Cancel(OwnedHandle);

impl Cancel {
    pub fn new() -> io::Result<Self> {
        // SAFETY: no attributes, no name: a new private event.
        let h = unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) };
        own(h).map(Cancel)
    }

    pub fn cancel(&self) {
        // SAFETY: the handle is a live event.
        unsafe { SetEvent(raw(&self.0)) };
    }
}

fn raw(h: &OwnedHandle) -> HANDLE {
    h.as_raw_handle() as HANDLE
}

fn own(h: HANDLE) -> io::Result<OwnedHandle> {
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(h as _) })
}

fn wide(name: &str) -> Vec<u16> {
    name.encode_utf16().chain(std::iter::once(0)).collect()
}

/// `volume serial - file id`: the same in every process that opened the same file. `FileIdInfo`
/// (Windows 8+, ReFS-safe 128-bit ids) first, `GetFileInformationByHandle` where it is missing.
pub fn file_identity(file: &std::fs::File) -> Option<String> {
    let handle = file.as_raw_handle() as HANDLE;
    // SAFETY: all-zero is a valid FILE_ID_INFO.
    let mut id: FILE_ID_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: a live file handle and an out-parameter of the size given.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            handle,
            FileIdInfo,
            (&mut id as *mut FILE_ID_INFO).cast(),
            std::mem::size_of::<FILE_ID_INFO>() as u32,
        )
    };
    if ok != 0 {
        let hex: String = id
            .FileId
            .Identifier
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        return Some(format!("{:016x}-{hex}", id.VolumeSerialNumber));
    }
    // SAFETY: all-zero is a valid BY_HANDLE_FILE_INFORMATION.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: a live file handle and a valid out-parameter.
    let ok = unsafe { GetFileInformationByHandle(handle, &mut info) };
    (ok != 0).then(|| {
        format!(
            "{:08x}-{:08x}{:08x}",
            info.dwVolumeSerialNumber, info.nFileIndexHigh, info.nFileIndexLow
        )
    })
}

struct Named {
    mutex: OwnedHandle,
    waiters: OwnedHandle,
    wakes: OwnedHandle,
}

struct Locked<'a>(&'a Named);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: this thread owns the mutex.
        unsafe { ReleaseMutex(raw(&self.0.mutex)) };
    }
}

impl Named {
    fn open(name: &str) -> io::Result<Named> {
        let sem = |suffix: &str| {
            let n = wide(&format!("{name}-{suffix}"));
            // SAFETY: a NUL-terminated name alive for the call; opens the semaphore if it exists.
            own(unsafe { CreateSemaphoreW(ptr::null(), 0, i32::MAX, n.as_ptr()) })
        };
        let m = wide(&format!("{name}-m"));
        Ok(Named {
            // SAFETY: as above, for the mutex.
            mutex: own(unsafe { CreateMutexW(ptr::null(), 0, m.as_ptr()) })?,
            waiters: sem("n")?,
            wakes: sem("w")?,
        })
    }

    fn lock(&self) -> io::Result<Locked<'_>> {
        // SAFETY: a live mutex handle.
        match unsafe { WaitForSingleObject(raw(&self.mutex), INFINITE) } {
            // An abandoned mutex (its holder died) is still ours now; the counts it guarded
            // may be off by that process's waiter, as the module notes say.
            WAIT_OBJECT_0 | WAIT_ABANDONED => Ok(Locked(self)),
            _ => Err(io::Error::last_os_error()),
        }
    }
}

/// Takes one unit of a semaphore if it has one.
fn take(sem: &OwnedHandle) -> bool {
    // SAFETY: a live semaphore handle.
    unsafe { WaitForSingleObject(raw(sem), 0) == WAIT_OBJECT_0 }
}

fn release(sem: &OwnedHandle, n: i32) -> io::Result<i32> {
    let mut before = 0;
    // SAFETY: a live semaphore handle and a valid out-parameter.
    if unsafe { ReleaseSemaphore(raw(sem), n, &mut before) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(before)
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
    if let Some(c) = cancel {
        // SAFETY: a live event handle.
        if unsafe { WaitForSingleObject(raw(&c.0), 0) } == WAIT_OBJECT_0 {
            return Ok(WaitResult::TimedOut);
        }
    }
    let named = Named::open(&key.name)?;
    {
        let _locked = named.lock()?;
        if value.load(Ordering::SeqCst) != expected {
            return Ok(WaitResult::NotEqual);
        }
        if remaining(deadline) == Some(Duration::ZERO) {
            return Ok(WaitResult::TimedOut);
        }
        release(&named.waiters, 1)?;
    }
    let mut handles = vec![raw(&named.wakes)];
    if let Some(c) = cancel {
        handles.push(raw(&c.0));
    }
    loop {
        let ms = match remaining(deadline) {
            None => INFINITE,
            Some(left) => left.as_millis().min(u128::from(INFINITE - 1)) as u32,
        };
        // SAFETY: live handles, alive for the call.
        let r = unsafe { WaitForMultipleObjects(handles.len() as u32, handles.as_ptr(), 0, ms) };
        if r == WAIT_OBJECT_0 {
            return Ok(WaitResult::Ok);
        }
        if r == WAIT_TIMEOUT && remaining(deadline) != Some(Duration::ZERO) {
            continue; // a timeout longer than one call can sleep
        }
        if r == WAIT_FAILED {
            let e = io::Error::last_os_error();
            unregister(&named)?;
            return Err(e);
        }
        // Timed out or cancelled: a wake-up handed to this waiter meanwhile counts as one.
        return Ok(if unregister(&named)? {
            WaitResult::Ok
        } else {
            WaitResult::TimedOut
        });
    }
}

/// Leaves the register, or takes the wake-up a notify left for this waiter: true then.
fn unregister(named: &Named) -> io::Result<bool> {
    let _locked = named.lock()?;
    if take(&named.wakes) {
        return Ok(true);
    }
    take(&named.waiters);
    Ok(false)
}

/// # Safety
/// `key.addr` is not touched: the name is what matters.
pub unsafe fn notify(key: &Key, count: u32) -> io::Result<usize> {
    let named = Named::open(&key.name)?;
    let _locked = named.lock()?;
    // The count of a semaphore is only seen by releasing: add one, read, take it back.
    let registered = release(&named.waiters, 1)? as u32;
    take(&named.waiters);
    let k = registered.min(count);
    for _ in 0..k {
        take(&named.waiters);
    }
    if k > 0 {
        release(&named.wakes, k as i32)?;
    }
    Ok(k as usize)
}
