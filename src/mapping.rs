use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use memmap_core::{CreateOptions, Error, OpenOptions, Pending};
use napi::bindgen_prelude::{ArrayBuffer, AsyncTask, Uint8ArraySlice, Unknown};
use napi::{Env, Task};
use napi_derive::napi;

use crate::args::{self, Advice, Mode};
use crate::buffer;
use crate::error::{self, IntoNapi, Result};

/// The mapping, shared by the `Mapping` object and the finalizers of its ArrayBuffers. It is
/// unmapped by `close()` once every buffer is detached, or when the last reference goes; a
/// background flush may hold one a little longer.
pub struct Backing {
    map: RwLock<Option<Arc<memmap_core::Mapping>>>,
    /// Start offsets of the external buffers still attached, with each buffer's id: one buffer
    /// per start address (V8 debug builds refuse two over the same pointer), and `close()`
    /// checks none is left.
    attached: Mutex<HashMap<usize, u64>>,
}

impl Backing {
    pub fn release(&self) {
        let taken = self.map.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(taken);
    }

    fn get(&self) -> Option<Arc<memmap_core::Mapping>> {
        self.map.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn attached(&self) -> std::sync::MutexGuard<'_, HashMap<usize, u64>> {
        self.attached.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn attach(&self, offset: usize, id: u64) {
        self.attached().insert(offset, id);
    }

    /// The buffer `id` at `offset` is gone (collected): forget it, unless another buffer has
    /// taken that offset since.
    pub fn detached(&self, offset: usize, id: u64) {
        let mut attached = self.attached();
        if attached.get(&offset) == Some(&id) {
            attached.remove(&offset);
        }
    }

    /// `close()` detached the buffer at `offset`, whichever it was.
    fn detached_at(&self, offset: usize) {
        self.attached().remove(&offset);
    }
}

/// One mapping. JavaScript takes ArrayBuffers over it (the whole of it, or windows where it is
/// larger than one buffer may be), builds views over them, and passes them all back to `close`
/// so that every view is detached before the memory goes away.
#[napi]
pub struct Mapping {
    backing: Arc<Backing>,
    // A Cell, not `&mut self`: napi-rs keeps a shared borrow of the object alive while a
    // `flushAsync` task is pending, and `close()` must still work then.
    closed: Cell<bool>,
    len: usize,
    mode: memmap_core::Mode,
    /// A created file not yet at its path: `commit()` puts it there; `close()` (or a failure,
    /// or collection) without it removes the file.
    pending: RefCell<Option<Pending>>,
}

impl Mapping {
    pub(crate) fn new(map: memmap_core::Mapping) -> Self {
        Mapping {
            pending: RefCell::new(None),
            len: map.len(),
            mode: map.mode(),
            backing: Arc::new(Backing {
                map: RwLock::new(Some(Arc::new(map))),
                attached: Mutex::new(HashMap::new()),
            }),
            closed: Cell::new(false),
        }
    }

    /// Names this mapping's pending `waitAsync`s (src/wait.rs).
    pub(crate) fn wait_id(&self) -> usize {
        Arc::as_ptr(&self.backing) as usize
    }

    /// The mapping, which is never touched once unmapped. The TypeScript layer checks `closed`
    /// first (its `ERR_MMAP_CLOSED`), so getting here after `close()` is a bug of ours.
    pub(crate) fn live(&self) -> Result<Arc<memmap_core::Mapping>> {
        self.backing
            .get()
            .filter(|_| !self.closed.get())
            .ok_or_else(|| error::internal("the TypeScript layer used a closed Mapping"))
    }
}

#[napi]
impl Mapping {
    /// Maps an existing file in `mode`; `length` defaults to the rest of the file after
    /// `offset`.
    #[napi(factory)]
    pub fn open(path: String, mode: Mode, offset: f64, length: Option<f64>) -> Result<Self> {
        let mut o = OpenOptions::new();
        o.mode(mode.into()).offset(args::size("offset", offset)?);
        if let Some(l) = length {
            o.len(args::size("length", l)?);
        }
        o.open(&path)
            .map(Self::new)
            .map_err(|e| with_path(e, &path))
            .napi()
    }

    /// Creates a file of `length` zero bytes (mode 0600) beside `path`, under a temporary name,
    /// and maps it read-write. Nothing appears at `path` until `commit()`; `close()` before it
    /// removes the file. With `overwrite`, `commit()` replaces an existing file.
    #[napi(factory)]
    pub fn create(path: String, length: f64, overwrite: bool) -> Result<Self> {
        let (map, pending) = CreateOptions::new()
            .overwrite(overwrite)
            .stage(&path, args::size("length", length)?)
            .map_err(|e| with_path(e, &path))
            .napi()?;
        let native = Self::new(map);
        native.pending.replace(Some(pending));
        Ok(native)
    }

    /// Puts a created file at its path: detaches `buffers` (as `close` does), flushes the file
    /// to disk, unmaps it, renames it into place, and returns a new map of it there. A reader
    /// sees the old file or all of the new one. This map is closed afterwards, whatever happens;
    /// on failure the new file is removed.
    #[napi]
    pub fn commit(&self, buffers: Vec<ArrayBuffer>) -> Result<Mapping> {
        if self.pending.borrow().is_none() || self.closed.get() {
            return Err(error::internal(
                "commit() of a map that was not created, was already committed, or is closed",
            ));
        }
        let pending = self.pending.borrow_mut().take();
        self.detach(buffers)?;
        let taken = self
            .backing
            .map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.closed.set(true);
        let (Some(pending), Some(map)) = (pending, taken) else {
            return Err(error::internal("commit() found no map"));
        };
        let Ok(map) = Arc::try_unwrap(map) else {
            return Err(error::internal(
                "commit() while a flushAsync() of the new file is pending",
            ));
        };
        pending.commit(map).map(Self::new).napi()
    }

    /// Zero-filled anonymous memory, shared (MAP_SHARED), with no file.
    #[napi(factory)]
    pub fn anonymous(length: f64) -> Result<Self> {
        memmap_core::Mapping::shared_anonymous(args::size("length", length)?)
            .map(Self::new)
            .napi()
    }

    /// Maps the named shared-memory region `name` read-write (Windows' backing of
    /// SharedMemoryArray): `length` bytes of it, or all of it.
    #[napi(factory)]
    pub fn open_region(name: String, length: Option<f64>) -> Result<Self> {
        let len = length.map(|l| args::size("length", l)).transpose()?;
        region::open(&name, len).map(Self::new)
    }

    /// Another mapping of `byteLength` bytes at `byteOffset` of the same file and mode, closed
    /// on its own: a pass over a large file unmaps each window behind it.
    #[napi]
    pub fn window(&self, byte_offset: f64, byte_length: f64) -> Result<Mapping> {
        let offset = args::usize_of("byteOffset", byte_offset)?;
        let len = args::usize_of("byteLength", byte_length)?;
        self.live()?.window(offset, len).map(Self::new).napi()
    }

    /// An ArrayBuffer over `byteLength` bytes at `byteOffset` (default: the whole mapping).
    /// Start offsets are unique among attached buffers: asking again for a live one is an error.
    #[napi(ts_return_type = "ArrayBuffer")]
    pub fn buffer<'env>(
        &self,
        env: &'env Env,
        byte_offset: Option<f64>,
        byte_length: Option<f64>,
    ) -> Result<Unknown<'env>> {
        let map = self.live()?;
        let offset = args::usize_of("byteOffset", byte_offset.unwrap_or(0.0))?;
        let len = match byte_length {
            Some(l) => args::usize_of("byteLength", l)?,
            None => self.len.saturating_sub(offset),
        };
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(error::internal(format!(
                "window {offset}+{len} is outside the mapping of {} bytes",
                self.len
            )));
        }
        if len > 0 && self.backing.attached().contains_key(&offset) {
            return Err(error::internal(format!(
                "a buffer at offset {offset} is already attached"
            )));
        }
        // SAFETY: the range was checked against the mapping held by `self.backing`, which is
        // released only after every attached buffer is detached (`close`).
        let value = match unsafe {
            buffer::external(env.raw(), &self.backing, map.as_mut_ptr(), offset, len)
        } {
            Ok(v) => v,
            Err(e) if self.backing.attached().is_empty() => {
                // No buffer exists over the memory: unmap now rather than at collection,
                // and a created file never reaches its path.
                drop(map);
                self.backing.release();
                self.closed.set(true);
                self.pending.borrow_mut().take();
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        // SAFETY: `value` was just created in this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
    }

    #[napi(getter)]
    pub fn byte_length(&self) -> f64 {
        self.len as f64
    }

    #[napi(getter)]
    pub fn mode(&self) -> Mode {
        self.mode.into()
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.closed.get()
    }

    /// msync: durable when it returns.
    #[napi]
    pub fn flush(&self) -> Result<()> {
        self.live()?.flush().napi()
    }

    /// msync on the thread pool. The task holds the mapping: a `close()` issued meanwhile
    /// detaches the buffer at once, and the memory is unmapped when the flush is done, so a
    /// flush that was asked for always happens. A failure of the flush (a read-only map
    /// included) rejects the promise.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush_async(&self) -> Result<AsyncTask<FlushTask>> {
        Ok(AsyncTask::new(FlushTask {
            map: Some(self.live()?),
        }))
    }

    /// `sum`, `mean`, `std`, `min` or `max` of the whole mapping read as `dtype`, on all cores
    /// for large arrays. 64-bit integer sums, minima and maxima come back as bigint.
    #[napi(ts_return_type = "number | bigint")]
    pub fn reduce(
        &self,
        dtype: crate::reduce::DType,
        op: crate::reduce::ReduceOp,
    ) -> Result<crate::reduce::Value> {
        let map = self.live()?;
        crate::reduce::reduce(&map, dtype, op).napi()
    }

    /// Count, sum, mean, std, min and max of the whole mapping read as `dtype`, from one read
    /// of it, off the main thread. `progress(bytes)` is called on the main thread with the bytes
    /// reduced so far after each 64 MiB (possibly after the promise settles). A file larger
    /// than memory: pages already read are released as the pass goes (see memmap-core's
    /// `reduce::stats_of`).
    #[napi(ts_return_type = "Promise<Stats>")]
    pub fn stats(
        &self,
        dtype: crate::reduce::DType,
        progress: Option<napi::bindgen_prelude::Function<'_, f64, ()>>,
    ) -> Result<AsyncTask<crate::reduce::StatsTask>> {
        Ok(AsyncTask::new(crate::reduce::StatsTask {
            map: Some(self.live()?),
            dtype,
            progress: crate::reduce::progress(progress)?,
        }))
    }

    /// madvise over the whole mapping or `offset..offset + length`.
    #[napi]
    pub fn advise(&self, advice: Advice, offset: Option<f64>, length: Option<f64>) -> Result<()> {
        let offset = args::usize_of("offset", offset.unwrap_or(0.0))?;
        let length = match length {
            Some(l) => args::usize_of("length", l)?,
            None => self.len.saturating_sub(offset),
        };
        self.live()?
            .advise_range(advice.into(), offset, length)
            .napi()
    }

    /// Copies `into.length` bytes at `byteOffset` of the mapping into `into`: how the
    /// TypeScript layer reads the first elements of an array before it has made a buffer over
    /// the mapping (which costs far more than a call).
    #[napi]
    pub fn read(&self, byte_offset: f64, mut into: Uint8ArraySlice) -> Result<()> {
        let map = self.live()?;
        // SAFETY: JavaScript cannot run during this call, so nothing else touches `into`'s bytes.
        let into = unsafe { into.as_mut() };
        let at = self.range(byte_offset, into.len())?;
        // SAFETY: `at..at + into.len()` lies inside the mapping (`range`), which `map` keeps
        // mapped; `into` is a JavaScript buffer, never part of a mapping's buffers here, so the
        // two do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(map.as_mut_ptr().add(at), into.as_mut_ptr(), into.len())
        };
        Ok(())
    }

    /// Copies `from` to `byteOffset` of the mapping: `read`'s counterpart for writes.
    #[napi]
    pub fn write(&self, byte_offset: f64, from: Uint8ArraySlice) -> Result<()> {
        let map = self.live()?;
        if self.mode == memmap_core::Mode::ReadOnly {
            return Err(error::internal(
                "write() to a read-only mapping got past the TypeScript layer",
            ));
        }
        let at = self.range(byte_offset, from.len())?;
        // SAFETY: as in `read`; the mapping is writable memory in every mode (a 'c' or 'r'
        // mapping is private and writable, never the file).
        unsafe {
            std::ptr::copy_nonoverlapping(from.as_ptr(), map.as_mut_ptr().add(at), from.len())
        };
        Ok(())
    }

    /// Detaches `buffers` (every typed array over them drops to length 0), then unmaps.
    /// Idempotent. If any buffer over the mapping is left attached, nothing is unmapped.
    #[napi]
    pub fn close(&self, buffers: Vec<ArrayBuffer>) -> Result<()> {
        if self.closed.get() {
            return Ok(());
        }
        self.detach(buffers)?;
        crate::wait::cancel_all(self.wait_id());
        self.backing.release();
        self.closed.set(true);
        // After the unmap: Windows cannot remove a file that is still mapped.
        self.pending.borrow_mut().take();
        Ok(())
    }
}

impl Drop for Mapping {
    /// Collected, or torn down with its environment (a worker ending): pending `waitAsync`s end
    /// (`ERR_MMAP_CLOSED`) rather than hold the memory. (While one is pending, its promise keeps
    /// the JavaScript object reachable, so collection alone does not happen then.)
    fn drop(&mut self) {
        crate::wait::cancel_all(self.wait_id());
    }
}

impl Mapping {
    /// Detaches `buffers`, which must be over this mapping; an error if any buffer over it is
    /// still attached afterwards (then nothing may be unmapped).
    fn detach(&self, buffers: Vec<ArrayBuffer>) -> Result<()> {
        self.detach_each(buffers)?;
        let left = self.backing.attached().len();
        if left > 0 {
            return Err(error::internal(format!(
                "{left} buffer(s) over the mapping are still attached; not unmapping"
            )));
        }
        Ok(())
    }

    /// `byteOffset` as an offset at which `len` bytes lie inside the mapping.
    fn range(&self, byte_offset: f64, len: usize) -> Result<usize> {
        let at = args::usize_of("byteOffset", byte_offset)?;
        if at.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(error::internal(format!(
                "{len} bytes at {at} is outside the mapping of {} bytes",
                self.len
            )));
        }
        Ok(at)
    }

    /// Detaches each of `buffers` (over this mapping) and forgets its start offset.
    fn detach_each(&self, buffers: Vec<ArrayBuffer>) -> Result<()> {
        if let Some(map) = self.backing.get() {
            let base = map.as_mut_ptr() as usize;
            for buffer in buffers {
                if buffer.is_empty() || buffer.is_detached().unwrap_or(true) {
                    continue;
                }
                let at = (buffer.as_ptr() as usize).wrapping_sub(base);
                if at >= self.len {
                    return Err(error::internal(
                        "close() or commit() was given an ArrayBuffer of another mapping",
                    ));
                }
                buffer
                    .detach()
                    .map_err(|e| error::internal(format!("detach failed: {e}")))?;
                self.backing.detached_at(at);
            }
        }
        Ok(())
    }
}

fn with_path(e: Error, path: &str) -> Error {
    match e {
        Error::InvalidArg {
            message,
            path: None,
        } => Error::invalid_arg(message, Some(Path::new(path))),
        e => e,
    }
}

pub struct FlushTask {
    map: Option<Arc<memmap_core::Mapping>>,
}

impl Task for FlushTask {
    /// The flush's own outcome: its error becomes a JavaScript error in `resolve`, back on the
    /// JavaScript thread, where the object a rejection carries can be made.
    type Output = memmap_core::Result<()>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        // Taken, so that if this is the last holder the unmap happens here, off the main thread.
        Ok(self.map.take().map_or(Ok(()), |map| map.flush()))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<()> {
        output.napi()
    }
}

/// Opening named shared-memory regions (Windows' backing of SharedMemoryArray). Creating one,
/// and holding it for the process, is `crate::owned`.
#[cfg(windows)]
mod region {
    use crate::error::{IntoNapi, Result};

    pub fn open(name: &str, len: Option<u64>) -> Result<memmap_core::Mapping> {
        memmap_core::Mapping::open_region(name, len).napi()
    }
}

#[cfg(not(windows))]
mod region {
    use crate::error::{self, Result};

    pub fn open(name: &str, _: Option<u64>) -> Result<memmap_core::Mapping> {
        Err(error::internal(format!(
            "openRegion('{name}'): named shared-memory regions are the Windows backing; \
             elsewhere regions are files"
        )))
    }
}
