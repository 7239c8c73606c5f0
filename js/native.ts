// The generated loader (`npm run build:native` writes js/binding.cjs): the one import of it.
// The binding's classes have the names of what they wrap in memmap-core (`Mapping`,
// `RegularFile`); js/mapping.ts wraps them again for the public classes, as `native.Mapping`.
import binding = require('./binding.cjs')

export type Mapping = binding.Mapping
export const Mapping = binding.Mapping
export type RegularFile = binding.RegularFile
export const RegularFile = binding.RegularFile
/** What `Mapping.stats` resolves to. */
export type Stats = binding.Stats

/** The process-wide registry of the shared-memory regions this process owns (src/owned.rs). */
export const { createRegion, ownRegion, ownedRegionCount, removeOwnedRegions, unlinkOwnedRegion, watchOwnedRegions } =
  binding
