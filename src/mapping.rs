use std::sync::{Arc, RwLock, RwLockReadGuard};

use memmap_core::{Advice, CreateOptions, Error, MmapFile, Mode, OpenOptions};
use napi::bindgen_prelude::{ArrayBuffer, AsyncTask, Unknown};
use napi::{Env, Task};
use napi_derive::napi;

use crate::args;
use crate::buffer;
use crate::error::{self, IntoNapi, Result};

/// The mapping shared by the `NativeMap` object, its ArrayBuffer's finalizer and in-flight
/// background flushes. Whoever releases first unmaps; the others find `None`.
pub struct Slot {
    map: RwLock<Option<MmapFile>>,
}

impl Slot {
    pub fn release(&self) {
        let mut guard = self.map.write().unwrap_or_else(|e| e.into_inner());
        *guard = None;
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<MmapFile>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&MmapFile) -> memmap_core::Result<T>,
    ) -> memmap_core::Result<T> {
        match self.read().as_ref() {
            Some(map) => f(map),
            None => Err(Error::closed("the map is closed", None)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BufferState {
    NotHandedOut,
    HandedOut { data: usize },
}

/// One mapping. JavaScript takes its ArrayBuffer once, builds views over it, and passes it
/// back to `close` so that the views are detached before the memory goes away.
#[napi]
pub struct NativeMap {
    slot: Arc<Slot>,
    buffer: BufferState,
    len: usize,
    mode: Mode,
    path: Option<String>,
    closed: bool,
}

impl NativeMap {
    fn new(map: MmapFile) -> Self {
        NativeMap {
            len: map.len(),
            mode: map.mode(),
            path: map.path().map(|p| p.to_string_lossy().into_owned()),
            slot: Arc::new(Slot {
                map: RwLock::new(Some(map)),
            }),
            buffer: BufferState::NotHandedOut,
            closed: false,
        }
    }

    fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref().map(std::path::Path::new)
    }

    fn with<T>(&self, f: impl FnOnce(&MmapFile) -> memmap_core::Result<T>) -> Result<T> {
        self.slot
            .with(f)
            .map_err(|e| match e {
                Error::Closed { .. } => Error::closed("the map is closed", self.path()),
                e => e,
            })
            .napi()
    }
}

#[napi]
impl NativeMap {
    /// Maps an existing file: `mode` is 'r', 'r+' or 'c'; `length` defaults to the rest of
    /// the file after `offset`.
    #[napi(factory)]
    pub fn open(path: String, mode: String, offset: f64, length: Option<f64>) -> Result<Self> {
        let parsed = || -> memmap_core::Result<MmapFile> {
            let mut o = OpenOptions::new();
            o.mode(mode.parse::<Mode>()?)
                .offset(args::size("offset", offset)?);
            if let Some(l) = length {
                o.len(args::size("length", l)?);
            }
            o.open(&path)
        };
        parsed()
            .map(Self::new)
            .map_err(|e| with_path(e, &path))
            .napi()
    }

    /// Creates a file of `length` zero bytes (mode 0600) and maps it read-write.
    #[napi(factory)]
    pub fn create(path: String, length: f64, overwrite: bool) -> Result<Self> {
        let made = || -> memmap_core::Result<MmapFile> {
            CreateOptions::new()
                .overwrite(overwrite)
                .create(&path, args::size("length", length)?)
        };
        made()
            .map(Self::new)
            .map_err(|e| with_path(e, &path))
            .napi()
    }

    /// Zero-filled anonymous memory, shared (MAP_SHARED), with no file.
    #[napi(factory)]
    pub fn anonymous(length: f64) -> Result<Self> {
        MmapFile::shared_anonymous(args::size("length", length).napi()?)
            .map(Self::new)
            .napi()
    }

    /// The mapping's one ArrayBuffer. A second call is an error: two external buffers over
    /// the same memory would break the one-buffer-per-mapping rule close() relies on.
    #[napi]
    pub fn take_buffer<'env>(&mut self, env: &'env Env) -> Result<Unknown<'env>> {
        if self.buffer != BufferState::NotHandedOut {
            return Err(error::own(
                "ERR_MMAP_INTERNAL",
                "the buffer was already taken",
            ));
        }
        let data = {
            let guard = self.slot.read();
            match guard.as_ref() {
                Some(map) => map.as_mut_ptr(),
                None => {
                    return Err(error::to_napi(&Error::closed(
                        "the map is closed",
                        self.path(),
                    )))
                }
            }
        };
        // SAFETY: `data` is the start of `self.len` mapped bytes owned by `self.slot`, which
        // is released only after the buffer is detached (`close`) or by the buffer's own
        // finalizer.
        let value = unsafe { buffer::external(env.raw(), &self.slot, data, self.len)? };
        self.buffer = BufferState::HandedOut {
            data: data as usize,
        };
        // SAFETY: `value` was just created in this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
    }

    #[napi(getter)]
    pub fn byte_length(&self) -> f64 {
        self.len as f64
    }

    #[napi(getter)]
    pub fn mode(&self) -> &'static str {
        self.mode.as_str()
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// msync: durable when it returns.
    #[napi]
    pub fn flush(&self) -> Result<()> {
        self.with(MmapFile::flush)
    }

    #[napi]
    pub fn flush_range(&self, offset: f64, length: f64) -> Result<()> {
        let offset = args::usize_of("offset", offset).napi()?;
        let length = args::usize_of("length", length).napi()?;
        self.with(|m| m.flush_range(offset, length))
    }

    /// msync on the thread pool; the mapping stays alive until it is done, even if the
    /// array is closed meanwhile (close then waits for it).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush_async(&self) -> Result<AsyncTask<FlushTask>> {
        if self.closed {
            return Err(error::to_napi(&Error::closed(
                "the map is closed",
                self.path(),
            )));
        }
        Ok(AsyncTask::new(FlushTask {
            slot: Arc::clone(&self.slot),
            path: self.path.clone(),
        }))
    }

    /// madvise over the whole mapping or `offset..offset + length`.
    #[napi]
    pub fn advise(&self, advice: String, offset: Option<f64>, length: Option<f64>) -> Result<()> {
        let advice = advice.parse::<Advice>().napi()?;
        let offset = args::usize_of("offset", offset.unwrap_or(0.0)).napi()?;
        let length = match length {
            Some(l) => args::usize_of("length", l).napi()?,
            None => self.len.saturating_sub(offset),
        };
        self.with(|m| m.advise_range(advice, offset, length))
    }

    /// Detaches `buffer` (every typed array over it drops to length 0), then unmaps.
    /// Idempotent. If the buffer cannot be detached, nothing is unmapped.
    #[napi]
    pub fn close(&mut self, buffer: Option<ArrayBuffer>) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        if let BufferState::HandedOut { data } = self.buffer {
            if self.len > 0 {
                let Some(buffer) = buffer else {
                    return Err(error::own(
                        "ERR_MMAP_INTERNAL",
                        "close() needs the mapping's ArrayBuffer to detach it",
                    ));
                };
                if buffer.as_ptr() as usize != data {
                    if !buffer.is_detached().unwrap_or(false) {
                        return Err(error::own(
                            "ERR_MMAP_INTERNAL",
                            "close() was given an ArrayBuffer of another mapping",
                        ));
                    }
                } else {
                    buffer.detach().map_err(|e| {
                        error::own("ERR_MMAP_INTERNAL", format!("detach failed: {e}"))
                    })?;
                }
            }
        }
        self.slot.release();
        self.closed = true;
        Ok(())
    }
}

fn with_path(e: Error, path: &str) -> Error {
    match e {
        Error::InvalidArg {
            message,
            path: None,
        } => Error::invalid_arg(message, Some(std::path::Path::new(path))),
        e => e,
    }
}

pub struct FlushTask {
    slot: Arc<Slot>,
    path: Option<String>,
}

impl Task for FlushTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        let path = self.path.as_deref().map(std::path::Path::new);
        self.slot
            .with(MmapFile::flush)
            .map_err(|e| match e {
                Error::Closed { .. } => Error::closed("the map is closed", path),
                e => e,
            })
            .map_err(|e| napi::Error::from_reason(error::to_napi(&e).reason))
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}
