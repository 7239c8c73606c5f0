//! The shared-memory regions this process created and still owns (SharedMemoryArray without
//! `persistent`), for the whole process: the addon is loaded once per process and shared by
//! every thread, so a region created in a worker thread belongs to the process, outlives the
//! worker (ended or terminated), and goes at `unlink()` or when the process exits.
//!
//! - POSIX: a region is a file. Its device and inode are recorded right after creation, and a
//!   name is removed only while it still names that file: a region that another process removed
//!   and created again under the same name is not ours and is left alone. Removal at exit is an
//!   `atexit` hook (it runs on a normal exit, `process.exit()` and an uncaught exception; a signal
//!   is the main thread's JavaScript, see js/shared.ts).
//! - Windows: a region is a named file mapping that exists while some process holds it; the
//!   registry holds the creator's handle, so the region lives until `unlink()` or process exit
//!   whichever thread created it, and the exit itself lets go.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

#[cfg(windows)]
use crate::error::IntoNapi;
use crate::error::Result;

/// What this process holds of one region it owns.
#[cfg(unix)]
struct Held {
    dev: u64,
    ino: u64,
}

/// The creator's handle keeps the region's name reachable. `memmap_core::Region` wraps an
/// `OwnedHandle`, which is `Send`: the registry may be reached from any thread.
#[cfg(windows)]
struct Held(#[allow(dead_code)] memmap_core::Region);

/// Keyed by the region's path (`/dev/shm/…`, or `Local\…` on Windows).
static OWNED: Mutex<BTreeMap<String, Held>> = Mutex::new(BTreeMap::new());

fn owned() -> MutexGuard<'static, BTreeMap<String, Held>> {
    OWNED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Told (on the main thread, asynchronously) when the registry becomes empty or non-empty, so
/// that the main thread listens for signals exactly while the process owns a region, including
/// regions created by workers. Weak: it never keeps the event loop alive.
type Watcher = ThreadsafeFunction<(), (), (), Status, false, true>;
static WATCHER: Mutex<Option<Watcher>> = Mutex::new(None);

fn notify() {
    if let Some(w) = WATCHER.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        // Fails only once the main thread's environment is gone (the process is exiting).
        let _ = w.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// Registers `path` (a regular file this process just created) as owned.
#[cfg(unix)]
fn own(path: &str) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    exit_hook::install();
    let was_empty = {
        let mut owned = owned();
        let was_empty = owned.is_empty();
        owned.insert(
            path.to_owned(),
            Held {
                dev: meta.dev(),
                ino: meta.ino(),
            },
        );
        was_empty
    };
    if was_empty {
        notify();
    }
    Ok(())
}

/// Removes `path` if it still names the file `held` recorded (lstat, no link followed).
/// An already missing name is not an error.
#[cfg(unix)]
fn remove(path: &str, held: &Held) -> std::io::Result<()> {
    use std::io::ErrorKind::NotFound;
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.dev() == held.dev && m.ino() == held.ino => match std::fs::remove_file(path) {
            Err(e) if e.kind() != NotFound => Err(e),
            _ => Ok(()),
        },
        Ok(_) => Ok(()), // another region by now: not ours
        Err(e) if e.kind() == NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes the entry for `path` out of the registry: by name, or on POSIX by the file `path`
/// names now (an array opened by another spelling of the same path).
fn take(path: &str) -> Option<(String, Held)> {
    let mut owned = owned();
    if let Some(entry) = owned.remove_entry(path) {
        return Some(entry);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path).ok()?;
        let key = owned
            .iter()
            .find(|(_, h)| h.dev == meta.dev() && h.ino == meta.ino())
            .map(|(k, _)| k.clone())?;
        owned.remove_entry(&key)
    }
    #[cfg(not(unix))]
    None
}

fn removed(path: &str) -> Option<(String, Held)> {
    let entry = take(path)?;
    if owned().is_empty() {
        notify();
    }
    Some(entry)
}

/// Removes every region this process still owns. Idempotent; never fails (a name that cannot be
/// removed is left).
fn remove_all() -> u32 {
    let taken = std::mem::take(&mut *owned());
    let n = taken.len() as u32;
    #[cfg(unix)]
    for (path, held) in &taken {
        let _ = remove(path, held);
    }
    drop(taken);
    n
}

/// Records that this process owns the region file `path`, just created by this process: it is
/// removed at `unlink()` or when the process exits, if it still is that file (device and inode).
/// POSIX only.
#[napi]
pub fn own_region(path: String) -> Result<()> {
    #[cfg(unix)]
    {
        own(&path).map_err(|e| crate::error::to_napi(&io_error(e, "lstat", &path)))
    }
    #[cfg(not(unix))]
    {
        Err(crate::error::internal(format!(
            "ownRegion('{path}'): regions are named file mappings on Windows, made by createRegion"
        )))
    }
}

/// Creates the named region `name` (Windows) of `length` zero bytes, held by the process until
/// `unlinkOwnedRegion(name)` or exit; an existing name is `EEXIST`. Elsewhere regions are files
/// (a call is a bug of ours: `ERR_MMAP_INTERNAL`).
#[napi]
pub fn create_region(name: String, length: f64) -> Result<()> {
    let len = crate::args::size("length", length)?;
    #[cfg(windows)]
    {
        let (held, map) = memmap_core::Mapping::create_region(&name, len).napi()?;
        drop(map);
        let was_empty = {
            let mut owned = owned();
            let was_empty = owned.is_empty();
            owned.insert(name, Held(held));
            was_empty
        };
        if was_empty {
            notify();
        }
        Ok(())
    }
    #[cfg(not(windows))]
    {
        let _ = len;
        Err(crate::error::internal(format!(
            "createRegion('{name}'): named shared-memory regions are the Windows backing; \
             elsewhere regions are files"
        )))
    }
}

/// If this process owns the region `path`: forgets it and removes its name (POSIX: only if it
/// still names the file this process created; Windows: lets go of the handle, and the name goes
/// once no process maps the region), then returns true. Otherwise false, and nothing happens.
#[napi]
pub fn unlink_owned_region(path: String) -> Result<bool> {
    let Some((key, held)) = removed(&path) else {
        return Ok(false);
    };
    #[cfg(unix)]
    remove(&key, &held).map_err(|e| crate::error::to_napi(&io_error(e, "unlink", &key)))?;
    drop((key, held));
    Ok(true)
}

/// Removes every region this process owns (what exit and signals do); returns how many it held.
#[napi]
pub fn remove_owned_regions() -> u32 {
    let n = remove_all();
    if n > 0 {
        notify();
    }
    n
}

/// How many regions this process owns now, whichever thread created them.
#[napi]
pub fn owned_region_count() -> u32 {
    owned().len() as u32
}

/// `callback` (the main thread's) is called, later and on its thread, whenever the process goes
/// from owning no region to owning some or back. One watcher per process: a new one replaces it.
#[napi]
pub fn watch_owned_regions(callback: Function<(), ()>) -> Result<()> {
    let tsfn = callback
        .build_threadsafe_function()
        .callee_handled::<false>()
        .weak::<true>()
        .build()
        .map_err(|e| crate::error::internal(e.reason.clone()))?;
    *WATCHER.lock().unwrap_or_else(|e| e.into_inner()) = Some(tsfn);
    Ok(())
}

#[cfg(unix)]
fn io_error(source: std::io::Error, syscall: &'static str, path: &str) -> memmap_core::Error {
    memmap_core::Error::Io {
        source,
        syscall,
        path: Some(path.into()),
    }
}

/// Removal at process exit. Node runs `atexit` handlers on a normal exit, on `process.exit()` and
/// after an uncaught exception (measured; not on a death by signal). glibc ties a handler a shared
/// library registers to that library and runs it when the library is unloaded, and Node unloads
/// an addon when the last worker thread that loaded it ends if the main thread never did: so the
/// addon pins itself in memory (RTLD_NODELETE) once it owns a region, and the handler runs at
/// process exit.
#[cfg(unix)]
mod exit_hook {
    use std::ffi::c_void;
    use std::sync::Once;

    extern "C" fn at_exit() {
        super::remove_all();
    }

    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            pin();
            // SAFETY: registers a plain function that takes the registry's lock and removes
            // files; it unwinds nowhere (a panic in an `extern "C" fn` aborts).
            unsafe { libc::atexit(at_exit) };
        });
    }

    /// Makes this library stay loaded until the process exits. If it cannot, regions are removed
    /// when the library is unloaded (when its last thread ends) rather than at process exit.
    fn pin() {
        // SAFETY: an all-zero Dl_info (null pointers) is a valid value for dladdr to fill.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        // SAFETY: dladdr fills `info` for an address inside this library (this function's);
        // `dli_fname` then points to a NUL-terminated name owned by the loader, valid while the
        // library is loaded, which it is during this call. dlopen with RTLD_NOLOAD only takes
        // one more reference to the already loaded library (the handle is kept: never closed).
        unsafe {
            if libc::dladdr(pin as *const c_void, &mut info) != 0 && !info.dli_fname.is_null() {
                libc::dlopen(
                    info.dli_fname,
                    libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
                );
            }
        }
    }
}
