//! The Node binding: translation only. Mappings come from `memmap-core`; JavaScript gets
//! external ArrayBuffers over them (the whole mapping, or windows of it) and builds its views.
//!
//! The TypeScript layer owns every user-facing rule (arguments, `ERR_MMAP_CLOSED`). Arguments
//! arrive typed (`Mode`, `Advice`; sizes as doubles), and what the binding still checks are the
//! invariants that keep memory safe whatever JavaScript does; a broken one is a bug of ours,
//! `ERR_MMAP_INTERNAL`, never a crash:
//! - a size is a non-negative safe integer (`args`): a double never silently becomes another size;
//! - a closed mapping is never touched (`Mapping::live`): its memory may be unmapped;
//! - a buffer lies inside its mapping, one per start offset (V8 debug builds refuse two over one
//!   pointer);
//! - nothing is unmapped while a buffer over it is attached (`close`, `commit` detach the buffers
//!   they are given and check that none is left), and only buffers of this mapping are detached;
//! - a runtime that refuses external buffers is `ERR_MMAP_EXTERNAL_BUFFERS`, never a silent copy
//!   whose writes would not reach the file (`buffer`).
//!
//! Errors are the core's (OS errors, size mismatches, ...) or these; `error` makes them typed
//! JavaScript errors.

mod args;
mod buffer;
mod error;
mod file;
mod mapping;
mod owned;
mod reduce;
mod wait;

pub use file::RegularFile;
pub use mapping::Mapping;
pub use owned::{
    create_region, own_region, owned_region_count, remove_owned_regions, unlink_owned_region,
    watch_owned_regions,
};
