//! The Node binding: translation only. Arguments are checked and converted here, mappings
//! come from `memmap-core`, and each mapping is handed to JavaScript as exactly one external
//! ArrayBuffer over which the TypeScript layer builds its typed views.

mod args;
mod buffer;
mod error;
mod mapping;
mod reduce;

pub use mapping::{NativeMap, NativeRegion};
