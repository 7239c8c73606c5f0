use std::cell::RefCell;

use memmap_core::OpenOptions;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::args::{self, Mode};
use crate::error::{self, IntoNapi, Result};
use crate::mapping::Mapping;

/// An open regular file: read its header, then map part of it. Both come from this one open,
/// so they are of the same file even if its path is replaced in between.
#[napi]
pub struct RegularFile {
    file: RefCell<Option<memmap_core::RegularFile>>,
}

#[napi]
impl RegularFile {
    /// Opens `path` for mapping in `mode`.
    #[napi(factory)]
    pub fn open(path: String, mode: Mode) -> Result<Self> {
        let file = memmap_core::RegularFile::open(&path, mode.into()).napi()?;
        Ok(RegularFile {
            file: RefCell::new(Some(file)),
        })
    }

    /// A copy of up to `length` bytes from the start of the file (fewer at its end).
    #[napi]
    pub fn head(&self, length: f64) -> Result<Buffer> {
        let len = args::usize_of("length", length)?;
        self.with(|f| {
            let mut buf = vec![0; len.min(usize::try_from(f.size()).unwrap_or(usize::MAX))];
            let got = f.read_head(&mut buf).napi()?;
            buf.truncate(got);
            Ok(buf.into())
        })
    }

    /// Maps `length` bytes at `offset` (default: the rest of the file) in the mode of the open.
    #[napi]
    pub fn map(&self, offset: f64, length: Option<f64>) -> Result<Mapping> {
        let mut o = OpenOptions::new();
        o.offset(args::size("offset", offset)?);
        if let Some(l) = length {
            o.len(args::size("length", l)?);
        }
        self.with(|f| f.map(&o).map(Mapping::new).napi())
    }

    /// Closes the file; maps made from it stay valid. Idempotent.
    #[napi]
    pub fn close(&self) {
        self.file.borrow_mut().take();
    }

    /// The TypeScript layer closes the file right after its one header read and map.
    fn with<T>(&self, f: impl FnOnce(&memmap_core::RegularFile) -> Result<T>) -> Result<T> {
        match self.file.borrow().as_ref() {
            Some(file) => f(file),
            None => Err(error::internal(
                "the TypeScript layer used a closed RegularFile",
            )),
        }
    }
}
