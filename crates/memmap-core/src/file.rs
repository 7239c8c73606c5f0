use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use bytemuck::{Pod, PodCastError};
use memmap2::{MmapOptions, MmapRaw};

use crate::advice::Advice;
use crate::error::{Error, Result};
use crate::mode::Mode;

/// What to map of an existing file: a builder, as memmap2's `MmapOptions`.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    mode: Mode,
    offset: u64,
    len: Option<u64>,
    populate: bool,
}

impl OpenOptions {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn mode(&mut self, mode: Mode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Byte offset of the window in the file; need not be page-aligned.
    pub fn offset(&mut self, offset: u64) -> &mut Self {
        self.offset = offset;
        self
    }

    /// Length of the window; by default, everything from `offset` to the end of the file.
    pub fn len(&mut self, len: u64) -> &mut Self {
        self.len = Some(len);
        self
    }

    /// Read the whole window in at open (`MAP_POPULATE`, Linux only; ignored elsewhere).
    pub fn populate(&mut self, populate: bool) -> &mut Self {
        self.populate = populate;
        self
    }

    pub fn open(&self, path: impl AsRef<Path>) -> Result<Mapping> {
        Mapping::open(path, self)
    }
}

/// How to create a file.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    overwrite: bool,
    #[cfg_attr(not(unix), allow(dead_code))]
    permissions: u32,
}

impl Default for CreateOptions {
    fn default() -> Self {
        Self {
            overwrite: false,
            permissions: 0o600,
        }
    }
}

impl CreateOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace an existing file. The new file is built beside it and renamed over it, so
    /// anyone who still maps the old file keeps the old contents instead of faulting.
    pub fn overwrite(&mut self, overwrite: bool) -> &mut Self {
        self.overwrite = overwrite;
        self
    }

    /// Unix permission bits of the new file (before the umask); `0o600` by default.
    pub fn permissions(&mut self, mode: u32) -> &mut Self {
        self.permissions = mode;
        self
    }

    pub fn create(&self, path: impl AsRef<Path>, len: u64) -> Result<Mapping> {
        Mapping::create_with(path, len, self)
    }

    /// Creates the new file beside `path` under a temporary name, maps it read-write, and
    /// returns the map with the [`Pending`] that puts it at `path`. Write the contents through
    /// the map, then hand it to [`Pending::commit`]: until then nothing at `path` changes, and
    /// dropping the `Pending` instead removes the temporary file (drop the map first: Windows
    /// cannot remove a mapped file), so a failure leaves nothing behind.
    pub fn stage(&self, path: impl AsRef<Path>, len: u64) -> Result<(Mapping, Pending)> {
        Mapping::stage(path.as_ref(), len, self)
    }
}

/// A new file built beside its destination, not yet visible there: see [`CreateOptions::stage`].
/// Dropped without [`commit`](Pending::commit), it removes the temporary file.
#[derive(Debug)]
pub struct Pending {
    tmp: tempfile::TempPath,
    dest: PathBuf,
    overwrite: bool,
    file: Arc<File>,
}

impl Pending {
    /// Puts the new file at its destination: flushes `map` (the one [`stage`] returned with
    /// this), makes the file durable (`fsync`), unmaps it, renames it into place in one step,
    /// and returns a new map of it there. A reader opening the path sees the old file or the
    /// complete new one, never a mix. The map is unmapped before the rename because Windows
    /// refuses to rename a file while a view of it is mapped; the data stays in the page
    /// cache, so mapping it again reads nothing. Without `overwrite`, an entry that appeared at
    /// the path meanwhile is an `EEXIST` error and is left alone (the rename never replaces
    /// it). On any error the temporary file is removed.
    ///
    /// [`stage`]: CreateOptions::stage
    pub fn commit(self, map: Mapping) -> Result<Mapping> {
        let len = map.len() as u64;
        let flushed = map.flush();
        // Unmapped before `self` can drop on an error: Windows cannot remove a mapped file.
        drop(map);
        flushed?;
        let Pending {
            tmp,
            dest,
            overwrite,
            file,
        } = self;
        file.sync_all()
            .map_err(|e| Error::io(e, "fsync", Some(&dest)))?;
        let persisted = if overwrite {
            tmp.persist(&dest)
        } else {
            tmp.persist_noclobber(&dest)
        };
        // On failure the error gives the TempPath back; dropping it removes the file.
        persisted.map_err(|e| replace_error(e.error, &dest))?;
        sync_dir(&dest);
        let placed = RegularFile {
            file,
            path: dest,
            mode: Mode::ReadWrite,
            size: len,
        };
        placed.map(OpenOptions::new().len(len))
    }

    /// Where the file will be once committed.
    pub fn destination(&self) -> &Path {
        &self.dest
    }
}

/// Makes a rename durable: the directory entry, not only the file, must reach the disk. Best
/// effort: some file systems refuse `fsync` on a directory, and the data is already safe.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// An open regular file, to read a header from and then map: both come from one `open`, so
/// they are of the same file even if its path is replaced in between (a `.npy` header read by
/// path and a map opened by path again could be of two different files).
#[derive(Debug)]
pub struct RegularFile {
    file: Arc<File>,
    path: PathBuf,
    mode: Mode,
    size: u64,
}

impl RegularFile {
    /// Opens `path` for mapping in `mode` (read-write for `ReadWrite`); anything but a regular
    /// file is refused.
    pub fn open(path: impl AsRef<Path>, mode: Mode) -> Result<Self> {
        let path = path.as_ref();
        let (file, size) = open_regular(path, mode == Mode::ReadWrite)?;
        Ok(RegularFile {
            file: Arc::new(file),
            path: path.to_path_buf(),
            mode,
            size,
        })
    }

    /// The file's size when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Reads up to `buf.len()` bytes from the start of the file; returns how many were read
    /// (fewer only at the end of the file).
    pub fn read_head(&self, buf: &mut [u8]) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match read_at(&self.file, &mut buf[got..], got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(e, "read", Some(&self.path))),
            }
        }
        Ok(got)
    }

    /// Maps `options`' window of this file in this file's mode (`options.mode` is ignored).
    /// Sizes are checked against the size at open.
    pub fn map(&self, options: &OpenOptions) -> Result<Mapping> {
        let path = self.path.as_path();
        let size = self.size;
        let offset = options.offset;
        if offset > size {
            return Err(Error::size_mismatch(
                format!("offset {offset} is past the end of the file ({size} bytes)"),
                Some(path),
            ));
        }
        let len = options.len.unwrap_or(size - offset);
        match offset.checked_add(len) {
            Some(end) if end <= size => {}
            _ => {
                return Err(Error::size_mismatch(
                    format!(
                        "expected at least {} bytes (offset {offset} + length {len}), the file has {size}",
                        offset as u128 + len as u128
                    ),
                    Some(path),
                ))
            }
        }
        let len = to_usize(len, Some(path))?;
        let map = if len == 0 {
            None
        } else {
            let mut opts = MmapOptions::new();
            opts.offset(offset).len(len);
            if options.populate {
                opts.populate();
            }
            Some(map_file(&self.file, &mut opts, self.mode, path)?)
        };
        Ok(Mapping {
            map,
            mode: self.mode,
            path: Some(path.to_path_buf()),
            file: Some((Arc::clone(&self.file), offset)),
        })
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// A file, or part of one, mapped into memory.
///
/// The mapping lives until the value is dropped. Sizes are checked against the file when it
/// is opened, so nothing this type computes points past the end of the file. What no
/// library can prevent: another process truncating the file while it is mapped makes an
/// access to the lost pages a `SIGBUS`.
#[derive(Debug)]
pub struct Mapping {
    /// `None` for a zero-length window: the OS cannot map zero bytes.
    map: Option<Map>,
    mode: Mode,
    path: Option<PathBuf>,
    /// The mapped file and where the mapping starts in it, for [`window`](Self::window).
    file: Option<(Arc<File>, u64)>,
}

/// The memory behind a [`Mapping`]: a memmap2 map, or a view of a named Windows region.
#[derive(Debug)]
enum Map {
    Raw(MmapRaw),
    #[cfg(windows)]
    Region(crate::platform::windows::View),
}

impl Map {
    fn as_mut_ptr(&self) -> *mut u8 {
        match self {
            Map::Raw(m) => m.as_mut_ptr(),
            #[cfg(windows)]
            Map::Region(v) => v.as_mut_ptr(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Map::Raw(m) => m.len(),
            #[cfg(windows)]
            Map::Region(v) => v.len(),
        }
    }

    fn flush(&self, offset: usize, len: usize, wait: bool) -> io::Result<()> {
        match self {
            Map::Raw(m) if wait => m.flush_range(offset, len),
            Map::Raw(m) => m.flush_async_range(offset, len),
            // Pagefile-backed: nothing to write to a file, FlushViewOfFile only validates.
            #[cfg(windows)]
            Map::Region(v) => v.flush_range(offset, len),
        }
    }
}

impl Mapping {
    /// Maps an existing regular file.
    pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Self> {
        RegularFile::open(path, options.mode)?.map(options)
    }

    /// Creates a new file of `len` bytes (sparse, reading as zeros) and maps it read-write.
    /// An existing file is an `EEXIST` error; see [`CreateOptions::overwrite`].
    pub fn create(path: impl AsRef<Path>, len: u64) -> Result<Self> {
        Self::create_with(path, len, &CreateOptions::default())
    }

    /// [`create`](Self::create) with options. The file is built and made durable under a
    /// temporary name beside `path`, then renamed into place, so `path` never holds a partial
    /// file and a failure leaves it as it was (see [`CreateOptions::stage`]).
    pub fn create_with(path: impl AsRef<Path>, len: u64, options: &CreateOptions) -> Result<Self> {
        let (map, pending) = Self::stage(path.as_ref(), len, options)?;
        pending.commit(map)
    }

    fn stage(path: &Path, len: u64, options: &CreateOptions) -> Result<(Self, Pending)> {
        let ulen = to_usize(len, Some(path))?;
        let tmp = create_beside(path, len, options)?;
        let file = Arc::new(tmp.file);
        let map = if ulen == 0 {
            None
        } else {
            let mut opts = MmapOptions::new();
            opts.len(ulen);
            // On error `tmp.path` is dropped on the way out, which removes the file.
            Some(map_file(&file, &mut opts, Mode::ReadWrite, path)?)
        };
        let map = Mapping {
            map,
            mode: Mode::ReadWrite,
            path: Some(path.to_path_buf()),
            file: Some((Arc::clone(&file), 0)),
        };
        let pending = Pending {
            tmp: tmp.path,
            dest: path.to_path_buf(),
            overwrite: options.overwrite,
            file,
        };
        Ok((map, pending))
    }

    /// Anonymous memory shared with every process that inherits or is handed the mapping
    /// (`MAP_SHARED`, unlike memmap2's private `map_anon`). Zero-filled.
    pub fn shared_anonymous(len: u64) -> Result<Self> {
        let ulen = to_usize(len, None)?;
        if ulen == 0 {
            return Ok(Mapping {
                map: None,
                mode: Mode::ReadWrite,
                path: None,
                file: None,
            });
        }
        let file = crate::anon::shared_memory_file(len)?;
        let mut opts = MmapOptions::new();
        opts.len(ulen);
        let map = opts
            .map_raw(&file)
            .map_err(|e| Error::io(e, "mmap", None))?;
        Ok(Mapping {
            map: Some(Map::Raw(map)),
            mode: Mode::ReadWrite,
            path: None,
            file: None,
        })
    }

    /// Another mapping of `len` bytes at `offset` within this one, of the same file and mode:
    /// unmapping it releases its pages, which is how a pass over a file larger than memory stays
    /// bounded where advice cannot drop pages (Windows). Anonymous memory has no file to map
    /// again (`ERR_MMAP_INVALID_ARG`).
    pub fn window(&self, offset: usize, len: usize) -> Result<Mapping> {
        self.check_range(offset, len)?;
        let Some((file, start)) = &self.file else {
            return Err(Error::invalid_arg(
                "anonymous memory has no file to map a window of",
                None,
            ));
        };
        let path = self.path.as_deref().unwrap_or(Path::new(""));
        let map = if len == 0 {
            None
        } else {
            let mut opts = MmapOptions::new();
            opts.offset(start + offset as u64).len(len);
            Some(map_file(file, &mut opts, self.mode, path)?)
        };
        Ok(Mapping {
            map,
            mode: self.mode,
            path: self.path.clone(),
            file: Some((Arc::clone(file), start + offset as u64)),
        })
    }

    /// Creates the named shared-memory region `name` (Windows: a pagefile-backed file mapping,
    /// what Python's `shared_memory` uses there) and maps it read-write. The returned
    /// [`Region`](crate::Region) keeps the name reachable after the map is dropped; drop it to
    /// let the region go once no process maps it. An existing name is `EEXIST`.
    #[cfg(windows)]
    pub fn create_region(name: &str, len: u64) -> Result<(crate::Region, Mapping)> {
        use crate::platform::windows::Section;
        let path = Path::new(name);
        let ulen = to_usize(len, Some(path))?;
        let section = Section::create(name, len)
            .map_err(|e| Error::io(e, "CreateFileMapping", Some(path)))?;
        let map = Self::map_region(&section, ulen, path)?;
        Ok((crate::Region(section), map))
    }

    /// Maps the named region `name` read-write: `len` bytes of it, or all of it.
    #[cfg(windows)]
    pub fn open_region(name: &str, len: Option<u64>) -> Result<Mapping> {
        use crate::platform::windows::Section;
        let path = Path::new(name);
        let section =
            Section::open(name).map_err(|e| Error::io(e, "OpenFileMapping", Some(path)))?;
        let size = section
            .len()
            .map_err(|e| Error::io(e, "MapViewOfFile", Some(path)))?;
        let len = len.unwrap_or(size);
        if len > size {
            return Err(Error::size_mismatch(
                format!("expected at least {len} bytes, the region has {size}"),
                Some(path),
            ));
        }
        Self::map_region(&section, to_usize(len, Some(path))?, path)
    }

    #[cfg(windows)]
    fn map_region(
        section: &crate::platform::windows::Section,
        len: usize,
        path: &Path,
    ) -> Result<Mapping> {
        let map = if len == 0 {
            None
        } else {
            let view = section
                .map(len)
                .map_err(|e| Error::io(e, "MapViewOfFile", Some(path)))?;
            Some(Map::Region(view))
        };
        Ok(Mapping {
            map,
            mode: Mode::ReadWrite,
            path: Some(path.to_path_buf()),
            file: None,
        })
    }

    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(0, Map::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The mapped file and where the mapping starts in it (Windows names wait objects by it).
    #[cfg(windows)]
    pub(crate) fn file_start(&self) -> Option<(&File, u64)> {
        self.file.as_ref().map(|(f, start)| (&**f, *start))
    }

    /// The mapped file; `None` for anonymous memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Start of the mapping. Writing through it is allowed in every mode (in `ReadOnly` mode
    /// the write stays in this process's private copy); a zero-length map gives a dangling,
    /// non-null pointer that must not be dereferenced.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        match &self.map {
            Some(m) => m.as_mut_ptr(),
            None => NonNull::<u8>::dangling().as_ptr(),
        }
    }

    /// The mapping as bytes; see [`as_slice`](Self::as_slice) for the contract.
    ///
    /// # Safety
    /// As for [`as_slice`](Self::as_slice).
    pub unsafe fn as_bytes(&self) -> &[u8] {
        // SAFETY: the caller upholds as_slice's contract; u8 has no alignment or size to fail.
        unsafe { self.as_slice::<u8>() }.unwrap_or(&[])
    }

    /// The mapping as a slice of `T`. Fails if the mapping's address is not aligned for `T`
    /// (an `offset` that is not a multiple of `align_of::<T>()`) or its length is not a whole
    /// number of `T`.
    ///
    /// # Safety
    /// Rust assumes the memory behind a `&[T]` does not change while the slice lives, but a
    /// mapping is memory that others can write: another `Mapping` of the same file or region
    /// (in this process or another), a write through [`as_mut_ptr`](Self::as_mut_ptr), and for
    /// `ReadOnly` and `CopyOnWrite` maps, writes to the file that show through pages this
    /// process has not copied. The caller must ensure nothing writes the mapped bytes while the
    /// slice lives (memmap2 makes the same demand of its file-backed constructors, which are
    /// `unsafe` for this reason).
    ///
    /// Safe code cannot call it:
    /// ```compile_fail,E0133
    /// fn bytes(m: &memmap_core::Mapping) -> &[u8] {
    ///     m.as_slice::<u8>().unwrap()
    /// }
    /// ```
    pub unsafe fn as_slice<T: Pod>(&self) -> Result<&[T]> {
        let Some(map) = &self.map else {
            return Ok(&[]);
        };
        // SAFETY: the mapping is `len` readable bytes for as long as `self` lives, and the
        // returned borrow cannot outlive `self`; that the bytes do not change while it lives is
        // the caller's promise (this function's contract).
        let bytes = unsafe { std::slice::from_raw_parts(map.as_mut_ptr(), map.len()) };
        bytemuck::try_cast_slice(bytes).map_err(|e| self.cast_error::<T>(e))
    }

    /// The mapping as a mutable slice of `T`; a `ReadOnly` map refuses.
    ///
    /// # Safety
    /// `&mut self` excludes other borrows from this `Mapping` only. The caller must ensure
    /// that nothing else reads or writes the mapped bytes while the slice lives: no other
    /// `Mapping` of the same file or region in this or another process, and no access through
    /// [`as_mut_ptr`](Self::as_mut_ptr).
    pub unsafe fn as_mut_slice<T: Pod>(&mut self) -> Result<&mut [T]> {
        if self.mode == Mode::ReadOnly {
            return Err(Error::read_only(
                "the map was opened read-only (mode 'r')",
                self.path(),
            ));
        }
        let Some(map) = &self.map else {
            return Ok(&mut []);
        };
        // SAFETY: the mapping is `len` writable bytes (shared or private) for as long as
        // `self` lives; `&mut self` makes this the only borrow through `self`, and the caller
        // promises no other access to the bytes (this function's contract).
        let bytes = unsafe { std::slice::from_raw_parts_mut(map.as_mut_ptr(), map.len()) };
        let len = bytes.len();
        bytemuck::try_cast_slice_mut(bytes).map_err(|e| cast_error::<T>(e, len, self.path()))
    }

    fn cast_error<T>(&self, e: PodCastError) -> Error {
        cast_error::<T>(e, self.len(), self.path())
    }

    /// Writes dirty pages to the file and waits for the disk (`msync(MS_SYNC)`).
    /// A `ReadOnly` map refuses; a `CopyOnWrite` map has nothing to write and succeeds.
    pub fn flush(&self) -> Result<()> {
        self.flush_with(0, self.len(), true)
    }

    /// Starts writing dirty pages back without waiting (`msync(MS_ASYNC)`).
    pub fn flush_async(&self) -> Result<()> {
        self.flush_with(0, self.len(), false)
    }

    /// [`flush`](Self::flush) for the bytes `offset..offset + len` of the mapping.
    pub fn flush_range(&self, offset: usize, len: usize) -> Result<()> {
        self.check_range(offset, len)?;
        self.flush_with(offset, len, true)
    }

    /// The error [`flush`](Self::flush) would give for the mode alone: `ReadOnly` maps refuse.
    /// Lets a caller refuse up front before handing the flush to another thread.
    pub fn check_flushable(&self) -> Result<()> {
        if self.mode == Mode::ReadOnly {
            return Err(Error::read_only(
                "cannot flush a map opened read-only (mode 'r')",
                self.path(),
            ));
        }
        Ok(())
    }

    fn flush_with(&self, offset: usize, len: usize, wait: bool) -> Result<()> {
        self.check_flushable()?;
        match (self.mode, &self.map) {
            (Mode::ReadWrite, Some(m)) if len > 0 => m
                .flush(offset, len, wait)
                .map_err(|e| Error::io(e, "msync", self.path())),
            _ => Ok(()),
        }
    }

    /// Tells the kernel how the mapping will be used. A no-op where the platform has no
    /// `madvise` (Windows).
    ///
    /// `DontNeed` drops this process's pages. In shared maps (`ReadWrite`, anonymous) they come
    /// back unchanged from the file or shared memory. A `ReadOnly` map is private: writes made
    /// into it through [`as_mut_ptr`](Self::as_mut_ptr) are this process's copies, never the
    /// file's, and `DontNeed` discards them (the pages read the file again). In a `CopyOnWrite`
    /// map the writes are the point of the map, so there it does nothing.
    pub fn advise(&self, advice: Advice) -> Result<()> {
        self.advise_range(advice, 0, self.len())
    }

    /// [`advise`](Self::advise) for the bytes `offset..offset + len` of the mapping.
    pub fn advise_range(&self, advice: Advice, offset: usize, len: usize) -> Result<()> {
        self.check_range(offset, len)?;
        let Some(map) = &self.map else {
            return Ok(());
        };
        if len == 0 {
            return Ok(());
        }
        advise_map(map, self.mode, advice, offset, len)
            .map_err(|e| Error::io(e, "madvise", self.path()))
    }

    pub(crate) fn check_range(&self, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len() => Ok(()),
            _ => Err(Error::invalid_arg(
                format!(
                    "range {offset}..{} is outside the mapping of {} bytes",
                    offset as u128 + len as u128,
                    self.len()
                ),
                self.path(),
            )),
        }
    }
}

/// An anonymous shared buffer of `count` elements of `T`, zero-filled: the Zig seed's
/// `createSharedBuffer`. Reach the elements with [`Mapping::as_mut_slice`] (unsafe: see its
/// contract) or [`Mapping::as_mut_ptr`].
pub fn create_shared_buffer<T: Pod>(count: usize) -> Result<Mapping> {
    let bytes = count.checked_mul(std::mem::size_of::<T>()).ok_or_else(|| {
        Error::invalid_arg(format!("{count} elements overflow the address space"), None)
    })?;
    Mapping::shared_anonymous(bytes as u64)
}

#[cfg(unix)]
fn advise_map(map: &Map, mode: Mode, advice: Advice, offset: usize, len: usize) -> io::Result<()> {
    use memmap2::{Advice as A, UncheckedAdvice};
    let Map::Raw(map) = map;
    let safe = match advice {
        Advice::Normal => A::Normal,
        Advice::Sequential => A::Sequential,
        Advice::Random => A::Random,
        Advice::WillNeed => A::WillNeed,
        Advice::DontNeed if mode == Mode::CopyOnWrite => return Ok(()),
        Advice::DontNeed => {
            // SAFETY: MADV_DONTNEED is unchecked in memmap2 because on private pages that were
            // written it changes what the memory reads. ReadWrite and anonymous maps are shared:
            // their pages come back unchanged. A ReadOnly map is private and its written pages
            // (writes through as_mut_ptr: JavaScript writing into a read-only array's view) revert
            // to the file's contents, which is the documented behaviour of 'r' (such writes are
            // this process's scratch, never the file's). No Rust reference can observe the change:
            // as_slice's contract forbids writes while a slice lives. CopyOnWrite returned above.
            return unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) };
        }
    };
    map.advise_range(safe, offset, len)
}

#[cfg(windows)]
fn advise_map(map: &Map, mode: Mode, advice: Advice, offset: usize, len: usize) -> io::Result<()> {
    // SAFETY: `offset..offset + len` was checked against the mapping by the caller.
    let ptr = unsafe { map.as_mut_ptr().add(offset) };
    crate::platform::windows::advise(ptr, len, mode, advice)
}

fn cast_error<T>(e: PodCastError, len: usize, path: Option<&Path>) -> Error {
    let name = std::any::type_name::<T>();
    match e {
        PodCastError::TargetAlignmentGreaterAndInputNotAligned => Error::alignment(
            format!(
                "the mapping is not aligned to {} bytes for {name}",
                std::mem::align_of::<T>()
            ),
            path,
        ),
        _ => Error::size_mismatch(
            format!(
                "{len} bytes is not a whole number of {name} ({} bytes each)",
                std::mem::size_of::<T>()
            ),
            path,
        ),
    }
}

fn to_usize(len: u64, path: Option<&Path>) -> Result<usize> {
    usize::try_from(len)
        .ok()
        .filter(|&l| l <= isize::MAX as usize)
        .ok_or_else(|| {
            Error::invalid_arg(
                format!("{len} bytes cannot be mapped on this platform"),
                path,
            )
        })
}

fn map_file(file: &File, opts: &mut MmapOptions, mode: Mode, path: &Path) -> Result<Map> {
    let map = match mode {
        Mode::ReadWrite => opts.map_raw(file),
        Mode::ReadOnly | Mode::CopyOnWrite => {
            // Private maps do not reserve swap for every page up front: a copy-on-write map of a
            // file larger than RAM + swap must still open (only written pages need memory).
            opts.no_reserve_swap();
            // SAFETY: memmap2 marks this unsafe because the file may change underneath the
            // `&[u8]` its `MmapMut` derefs to. Only the raw map (`MmapRaw`) is kept, which hands
            // out no reference; slices come from the unsafe `as_slice`, whose contract covers it.
            unsafe { opts.map_copy(file) }.map(MmapRaw::from)
        }
    };
    map.map(Map::Raw)
        .map_err(|e| private_map_error(e, mode, path))
}

/// Windows charges a private (copy-on-write) view against the commit limit for its whole size,
/// so a large `'r'` or `'c'` map can fail where Linux maps it without reserving anything.
fn private_map_error(e: io::Error, mode: Mode, path: &Path) -> Error {
    if cfg!(windows) && mode != Mode::ReadWrite && e.raw_os_error() == Some(8) {
        // ERROR_NOT_ENOUGH_MEMORY
        let io = io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "not enough memory: Windows charges a '{}' map against the commit limit \
                 (RAM + page file) for its whole size; map it 'r+', or a smaller window with offset and length",
                mode.as_str()
            ),
        );
        return Error::io(io, "mmap", Some(path));
    }
    Error::io(e, "mmap", Some(path))
}

/// Opens `path` if it is a regular file, with its size at open.
fn open_regular(path: &Path, write: bool) -> Result<(File, u64)> {
    let mut oo = fs::OpenOptions::new();
    oo.read(true).write(write);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO would block `open` until a writer appears; non-blocking open returns at once and
        // the regular-file check below rejects it. O_NONBLOCK has no effect on regular files.
        oo.custom_flags(libc::O_NONBLOCK);
    }
    let file = match oo.open(path) {
        Ok(file) => file,
        Err(e) => {
            // open(2) fails on a socket (ENXIO) and on a directory opened for writing (EISDIR):
            // the type, by path, says why better than the errno does.
            if let Ok(meta) = fs::metadata(path) {
                check_type(&meta, path)?;
            }
            return Err(Error::io(e, "open", Some(path)));
        }
    };
    // The check that counts: of the file opened, whatever the path names now.
    let meta = file
        .metadata()
        .map_err(|e| Error::io(e, "fstat", Some(path)))?;
    check_type(&meta, path)?;
    Ok((file, meta.len()))
}

fn check_type(meta: &fs::Metadata, path: &Path) -> Result<()> {
    if meta.is_dir() {
        return Err(Error::io(
            io::Error::from(io::ErrorKind::IsADirectory),
            "open",
            Some(path),
        ));
    }
    if !meta.is_file() {
        return Err(Error::invalid_arg(
            "expected a regular file (not a device, FIFO or socket)",
            Some(path),
        ));
    }
    Ok(())
}

/// A new temporary file beside its destination, and the name that removes it when dropped.
struct Beside {
    file: File,
    path: tempfile::TempPath,
}

/// Creates the temporary file a new `path` is built in: in the same directory (a rename does
/// not cross file systems), created exclusively with the requested permissions, under a name
/// that fits `NAME_MAX` whatever the length of `path`'s own name, and sized to `len` bytes.
/// 32 bits that differ between calls and processes (std's per-process random hash keys, a
/// counter and the clock), enough for temporary names that are also created exclusively.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish() as u32
}

fn create_beside(path: &Path, len: u64, options: &CreateOptions) -> Result<Beside> {
    match fs::symlink_metadata(path) {
        // Refused before any work; `commit` refuses again if an entry appears meanwhile.
        Ok(_) if !options.overwrite => {
            return Err(Error::io(
                io::Error::from(io::ErrorKind::AlreadyExists),
                "open",
                Some(path),
            ))
        }
        Ok(m) if m.is_dir() => {
            return Err(Error::io(
                io::Error::from(io::ErrorKind::IsADirectory),
                "open",
                Some(path),
            ))
        }
        Ok(_) => {}
        // ENAMETOOLONG, ELOOP, EACCES, ...: the rename would fail the same way, after the work.
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(Error::io(e, "open", Some(path)))
        }
        Err(_) => {}
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    // At most 32 bytes of the name, cut on a character boundary: ".{name}.{8 hex}.tmp" is then
    // at most 46 bytes, within every file system's NAME_MAX.
    let mut cut = name.len().min(32);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut oo = fs::OpenOptions::new();
    // create_new is O_CREAT | O_EXCL: never an existing file, never through a planted symlink.
    oo.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        oo.mode(options.permissions);
    }
    // Created here rather than by tempfile's builder, whose errors lose the OS code (EMFILE,
    // ELOOP, ENAMETOOLONG would all read as EIO); tempfile's TempPath still removes and renames.
    let mut attempt = 0;
    let (file, tmp) = loop {
        let candidate = dir.join(format!(".{}.{:08x}.tmp", &name[..cut], random_u32()));
        match oo.open(&candidate) {
            Ok(file) => match tempfile::TempPath::try_from_path(&candidate) {
                Ok(tmp) => break (file, tmp),
                Err(e) => {
                    let _ = fs::remove_file(&candidate);
                    return Err(Error::io(e, "getcwd", Some(path)));
                }
            },
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(Error::io(e, "open", Some(path))),
        }
    };
    // On error `tmp` is dropped, which removes the file.
    file.set_len(len)
        .map_err(|e| Error::io(e, "ftruncate", Some(path)))?;
    Ok(Beside { file, path: tmp })
}

/// Windows refuses to replace a file that any process still maps (a mapped file cannot be
/// renamed over or deleted); say so instead of a bare "access denied".
fn replace_error(e: io::Error, path: &Path) -> Error {
    if cfg!(windows) && e.kind() == io::ErrorKind::PermissionDenied && path.exists() {
        let busy = io::Error::new(
            io::ErrorKind::ResourceBusy,
            "Windows refuses to replace a file that a process still maps (or holds open); \
             close every map of it, in this process and others, then overwrite",
        );
        return Error::io(busy, "rename", Some(path));
    }
    Error::io(e, "rename", Some(path))
}

#[cfg(test)]
mod tests;
