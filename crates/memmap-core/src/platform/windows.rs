//! Windows: named shared-memory regions (pagefile-backed file mappings, as Python's
//! `multiprocessing.shared_memory` uses there), and what Windows offers in place of `madvise`.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::ptr;

use windows_sys::Win32::Foundation::{GetLastError, ERROR_ALREADY_EXISTS, HANDLE};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FlushViewOfFile, MapViewOfFile, OpenFileMappingW, PrefetchVirtualMemory,
    UnmapViewOfFile, VirtualQuery, VirtualUnlock, FILE_MAP_READ, FILE_MAP_WRITE,
    MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS, PAGE_READWRITE, WIN32_MEMORY_RANGE_ENTRY,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

use crate::advice::Advice;
use crate::mode::Mode;

/// Windows reports a section's size only in whole pages, so a region this crate creates ends
/// with a trailer past the bytes asked for: the exact length and a magic word. Views handed out
/// stop before it; a region without one (made by someone else) is its whole size.
const TRAILER: usize = 16;
const MAGIC: u64 = u64::from_le_bytes(*b"memmapL\0");
const PAGE: u64 = 4096;

/// A section handle: the name of a region stays reachable while any process holds one.
#[derive(Debug)]
pub struct Section(OwnedHandle);

/// A view of a section, unmapped on drop.
pub struct View {
    ptr: *mut u8,
    len: usize,
    /// Kept so that the view's section outlives every use of `ptr`.
    _section: OwnedHandle,
}

// SAFETY: a view is plain memory shared with other processes; the raw pointer is only an
// address, and every access through it goes through `Mapping`'s own contracts.
unsafe impl Send for View {}
// SAFETY: as for `Send`: `View` has no interior state besides the address of the memory.
unsafe impl Sync for View {}

fn wide(name: &str) -> Vec<u16> {
    name.encode_utf16().chain(std::iter::once(0)).collect()
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

impl Section {
    /// A new zero-filled region of `len` bytes (at least 1: Windows has no empty sections) named
    /// `name`. An existing region of that name is `AlreadyExists`, never attached to.
    pub fn create(name: &str, len: u64) -> io::Result<Section> {
        let size = (len + TRAILER as u64).div_ceil(PAGE) * PAGE;
        let name = wide(name);
        // SAFETY: INVALID_HANDLE_VALUE asks for a pagefile-backed section; `name` is a
        // NUL-terminated UTF-16 string that outlives the call; null attributes are allowed.
        let handle = unsafe {
            CreateFileMappingW(
                -1isize as HANDLE,
                ptr::null(),
                PAGE_READWRITE,
                (size >> 32) as u32,
                size as u32,
                name.as_ptr(),
            )
        };
        if handle.is_null() {
            return Err(last_error());
        }
        // SAFETY: GetLastError reads this thread's last error, set by the call above.
        let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        // SAFETY: a non-null handle returned by CreateFileMappingW is ours to close.
        let owned = unsafe { OwnedHandle::from_raw_handle(handle) };
        if existed {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        let section = Section(owned);
        let whole = section.map(0)?;
        let mut trailer = [0u8; TRAILER];
        trailer[..8].copy_from_slice(&len.to_le_bytes());
        trailer[8..].copy_from_slice(&MAGIC.to_le_bytes());
        // SAFETY: the view is at least `size` >= len + TRAILER bytes, writable, and new: no one
        // else can have written it before its name was returned to us.
        unsafe {
            ptr::copy_nonoverlapping(
                trailer.as_ptr(),
                whole.ptr.add(whole.len - TRAILER),
                TRAILER,
            )
        };
        Ok(section)
    }

    /// Attaches to the region `name` for reading and writing.
    pub fn open(name: &str) -> io::Result<Section> {
        let name = wide(name);
        // SAFETY: `name` is NUL-terminated and outlives the call.
        let handle = unsafe { OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, 0, name.as_ptr()) };
        if handle.is_null() {
            return Err(last_error());
        }
        // SAFETY: a non-null handle returned by OpenFileMappingW is ours to close.
        Ok(Section(unsafe { OwnedHandle::from_raw_handle(handle) }))
    }

    /// The region's length: the exact one recorded by [`create`](Self::create), or for a
    /// region made elsewhere the size of a whole view (Windows rounds it up to pages).
    pub fn len(&self) -> io::Result<u64> {
        let whole = self.map(0)?;
        if whole.len < TRAILER {
            return Ok(whole.len as u64);
        }
        let mut trailer = [0u8; TRAILER];
        // SAFETY: the last TRAILER bytes of the view are mapped and readable; another process
        // may write them concurrently, which can only make the magic fail to match.
        unsafe {
            ptr::copy_nonoverlapping(
                whole.ptr.add(whole.len - TRAILER),
                trailer.as_mut_ptr(),
                TRAILER,
            )
        };
        let len = u64::from_le_bytes(trailer[..8].try_into().expect("8 bytes"));
        let magic = u64::from_le_bytes(trailer[8..].try_into().expect("8 bytes"));
        let room = (whole.len - TRAILER) as u64;
        Ok(if magic == MAGIC && len <= room && room - len < PAGE {
            len
        } else {
            whole.len as u64
        })
    }

    /// Maps `len` bytes from the start (0: the whole section) read-write.
    pub fn map(&self, len: usize) -> io::Result<View> {
        let handle = self.0.try_clone()?;
        // SAFETY: the handle is a live section opened with read and write access.
        let view = unsafe {
            MapViewOfFile(
                handle.as_raw_handle() as HANDLE,
                FILE_MAP_READ | FILE_MAP_WRITE,
                0,
                0,
                len,
            )
        };
        if view.Value.is_null() {
            return Err(last_error());
        }
        let ptr = view.Value.cast::<u8>();
        let len = if len > 0 {
            len
        } else {
            // SAFETY: all-zero bytes are a valid MEMORY_BASIC_INFORMATION (plain integers and
            // pointers).
            let mut info: MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
            // SAFETY: `info` is writable and of the size given; `ptr` is a mapped address.
            let n = unsafe {
                VirtualQuery(
                    ptr.cast(),
                    &mut info,
                    std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
                )
            };
            if n == 0 {
                let e = last_error();
                // SAFETY: `view` was returned by MapViewOfFile just above and is not in use.
                unsafe { UnmapViewOfFile(view) };
                return Err(e);
            }
            info.RegionSize
        };
        Ok(View {
            ptr,
            len,
            _section: handle,
        })
    }
}

impl View {
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn flush_range(&self, offset: usize, len: usize) -> io::Result<()> {
        // SAFETY: `offset..offset + len` lies inside the view (checked by the caller).
        if unsafe { FlushViewOfFile(self.ptr.add(offset).cast(), len) } == 0 {
            return Err(last_error());
        }
        Ok(())
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: `ptr` is the base address MapViewOfFile returned, unmapped exactly once here;
        // nothing refers to the memory any more (the owner is being dropped).
        unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
                Value: self.ptr.cast(),
            })
        };
    }
}

/// What Windows can do of each advice for mapped memory at `ptr..ptr + len`.
///
/// - `WillNeed`: `PrefetchVirtualMemory` reads the pages in.
/// - `DontNeed`: `VirtualUnlock` on pages that are not locked takes them out of the working set
///   (documented for VirtualUnlock); they stay in the file's cache and come back unchanged. A
///   `CopyOnWrite` map's written pages are private, so as on Unix nothing is done there.
/// - `Normal`, `Sequential`, `Random`: Windows has no per-range access hints for views.
pub fn advise(ptr: *mut u8, len: usize, mode: Mode, advice: Advice) -> io::Result<()> {
    match advice {
        Advice::WillNeed => {
            let range = WIN32_MEMORY_RANGE_ENTRY {
                VirtualAddress: ptr.cast(),
                NumberOfBytes: len,
            };
            // SAFETY: the range is mapped memory of this process (checked by the caller);
            // prefetching only reads it in.
            if unsafe { PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0) } == 0 {
                return Err(last_error());
            }
            Ok(())
        }
        Advice::DontNeed if mode != Mode::CopyOnWrite => {
            // SAFETY: unlocking never changes what the memory holds; it fails harmlessly
            // (ERROR_NOT_LOCKED) after trimming the pages, which is the effect wanted.
            unsafe { VirtualUnlock(ptr.cast(), len) };
            Ok(())
        }
        _ => Ok(()),
    }
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .finish()
    }
}
