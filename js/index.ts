import './dispose.js'

export { MmapError, type ErrorCode } from './errors.js'
export type { Advice, Mode } from './mapping.js'
export { MmapFile, mmapFile, type MmapFileOptions } from './mmap-file.js'
export type { PathLike } from './validate.js'
