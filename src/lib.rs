//! The Node binding: translation only. Arguments are checked and converted here, mappings
//! come from `memmap-core`, and each mapping is handed to JavaScript as exactly one external
//! ArrayBuffer over which the TypeScript layer builds its typed views.

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
