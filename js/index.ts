import './dispose.js'

export { MappedArray, type ArrayChunk, type ArrayInfo } from './mapped-array.js'
export { MmapArray, type CreateOptions, type FromArrayOptions, type OpenOptions } from './mmap-array.js'
export type { ArrayData, DTypeOfData, NestedArray } from './ingest.js'
export type { Shape } from './shape.js'
export { loadBinary, saveBinary, type LoadOptions, type SaveOptions } from './binary.js'
export { Channel, type ChannelCreateOptions, type ChannelMessage, type ChannelWaitOptions } from './channel.js'
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
export type { Advice, Mode, WaitResult } from './mapping.js'
export { openNpy, saveNpy, type OpenNpyOptions, type SaveNpyOptions } from './npy.js'
export {
  openSafetensors,
  saveSafetensors,
  SafetensorsFile,
  type OpenSafetensorsOptions,
  type SafetensorsTensorInfo,
  type SafetensorsValues,
  type SaveSafetensorsOptions,
} from './safetensors.js'
export { MmapFile, mmapFile, type MmapFileOptions } from './mmap-file.js'
export {
  createSharedBuffer,
  SHARED_MEMORY_DIR,
  SharedMemoryArray,
  type SharedCreateOptions,
  type SharedOpenOptions,
} from './shared.js'
export type { PathLike } from './validate.js'
