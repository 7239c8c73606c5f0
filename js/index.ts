import './dispose.js'

export {
  MappedArray,
  MmapArray,
  type ArrayChunk,
  type ArrayData,
  type DTypeOfData,
  type ArrayInfo,
  type NestedArray,
  type CreateOptions,
  type FromArrayOptions,
  type OpenOptions,
  type Shape,
} from './array.js'
export { loadBinary, saveBinary, type LoadOptions, type SaveOptions } from './binary.js'
export { MmapCache, type CacheEntryOptions, type CacheOptions } from './cache.js'
export type {
  ArrayOf,
  ArrayTypes,
  DType,
  DTypeLike,
  DTypeOf,
  TypedArray,
  TypedArrayConstructor,
  ValueOf,
} from './dtype.js'
export { MmapError, type ErrorCode } from './errors.js'
export type { Advice, Mode } from './mapping.js'
export { openNpy, saveNpy, type OpenNpyOptions, type SaveNpyOptions } from './npy.js'
export { MmapFile, mmapFile, type MmapFileOptions } from './mmap-file.js'
export {
  createSharedBuffer,
  SHARED_MEMORY_DIR,
  SharedMemoryArray,
  type SharedCreateOptions,
  type SharedOpenOptions,
} from './shared.js'
export type { PathLike } from './validate.js'
