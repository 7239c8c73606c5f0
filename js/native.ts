// The generated loader (`npm run build:native` writes js/binding.cjs): the one import of it.
import binding = require('./binding.cjs')

export type NativeMap = binding.NativeMap
export const NativeMap = binding.NativeMap

export type NativeRegion = binding.NativeRegion
export const NativeRegion = binding.NativeRegion
