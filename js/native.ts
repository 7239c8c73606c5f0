// The generated loader (`npm run build:native` writes js/binding.cjs): the one import of it.
import binding = require('./binding.cjs')

export type NativeMap = binding.NativeMap
export const NativeMap = binding.NativeMap
export type NativeFile = binding.NativeFile
export const NativeFile = binding.NativeFile

/** The process-wide registry of the shared-memory regions this process owns (src/owned.rs). */
export const { createRegion, ownRegion, ownedRegionCount, removeOwnedRegions, unlinkOwnedRegion, watchOwnedRegions } =
  binding
