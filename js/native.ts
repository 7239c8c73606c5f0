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

/** `'r' | 'r+' | 'c'`, as the binding takes it (src/args.rs). */
export type Mode = binding.Mode
/** `'normal' | 'sequential' | 'random' | 'willneed' | 'dontneed'`, as the binding takes it (src/args.rs). */
export type Advice = binding.Advice

/**
 * A `#[napi(string_enum)]` is exported as an object of its values (`{ ReadOnly: 'r', ... }`),
 * but the generated .d.cts declares only its union type (napi `constEnum: false`, so that plain
 * strings type-check where the binding takes one): the objects are typed here, once.
 */
const enums = binding as unknown as { Mode: Record<string, Mode>; Advice: Record<string, Advice> }
/** Every mode, in the binding's order. */
export const MODES: readonly Mode[] = Object.freeze(Object.values(enums.Mode))
/** Every advice, in the binding's order. */
export const ADVICE: readonly Advice[] = Object.freeze(Object.values(enums.Advice))

/** The process-wide registry of the shared-memory regions this process owns (src/owned.rs). */
export const { createRegion, ownRegion, ownedRegionCount, removeOwnedRegions, unlinkOwnedRegion, watchOwnedRegions } =
  binding
