//! Memory-mapped files and shared memory as typed slices.
//!
//! ```no_run
//! use memmap_core::{Mapping, Mode, OpenOptions};
//!
//! let mut created = Mapping::create("weights.bin", 8 * 1000)?;
//! // SAFETY: no other map of weights.bin exists while the slice lives.
//! unsafe { created.as_mut_slice::<f64>() }?.fill(1.5);
//! created.flush()?;
//!
//! let map = OpenOptions::new().mode(Mode::ReadOnly).open("weights.bin")?;
//! // SAFETY: nothing writes weights.bin while the slice lives.
//! let sum: f64 = unsafe { map.as_slice::<f64>() }?.iter().sum();
//! assert_eq!(sum, 1500.0);
//! # Ok::<(), memmap_core::Error>(())
//! ```
//!
//! Every offset and length is checked against the file's size before mapping, so nothing
//! this crate computes reaches past the end of a file. A file truncated by another process
//! while it is mapped is the one hazard left: touching the lost pages raises `SIGBUS`.

mod advice;
mod anon;
mod error;
mod file;
mod mode;
mod platform;
pub mod reduce;
mod wait;

pub use advice::Advice;
pub use error::{Error, Result};
pub use file::{create_shared_buffer, CreateOptions, Mapping, OpenOptions, Pending, RegularFile};
pub use mode::Mode;
pub use wait::{Cancel, WaitResult, CANCEL_SLICE};

/// The name API.md gives the crate's mapping type. It is [`Mapping`]: one name for one thing
/// in every layer (core, binding, TypeScript), where `MmapFile` in TypeScript is the public
/// raw-bytes class, a different thing.
pub type MmapFile = Mapping;

/// Keeps a named shared-memory region (Windows) reachable by name while it is held, even with
/// no map of it open; dropping it lets the region go once no process maps it.
#[cfg(windows)]
#[derive(Debug)]
pub struct Region(
    // Never read: holding the handle is the point.
    #[allow(dead_code)] platform::windows::Section,
);
