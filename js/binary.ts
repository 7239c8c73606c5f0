import { MappedArray } from './mapped-array.js'
import { MmapArray, type OpenOptions } from './mmap-array.js'
import type { DTypeLike, DTypeOf, TypedArray } from './dtype.js'
import { invalidArg } from './errors.js'
import { Mapping } from './mapping.js'
import { describe, options, toPath, type PathLike } from './validate.js'

export interface SaveOptions {
  /** Replace an existing file. Without it an existing file is an `EEXIST` error. */
  overwrite?: boolean
}

/** `loadBinary` options: `mode` defaults to `'r'` here. */
export type LoadOptions<T extends DTypeLike = DTypeLike> = OpenOptions<T>

/** The raw bytes of a typed array or MmapArray, without copying. @internal */
export function bytesOf(data: unknown, path: string): Uint8Array {
  if (data instanceof MappedArray) {
    const a = data.array
    return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  }
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    try {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    } catch (err) {
      // V8 refuses views of a detached buffer: the view came from an array that was closed.
      if (err instanceof TypeError) throw invalidArg('data is a view of a closed (detached) buffer', path)
      throw err
    }
  }
  throw invalidArg(`data must be a typed array or an MmapArray, got ${describe(data)}`, path)
}

/**
 * Writes `parts` one after another to a new file (see `Mapping.create`: built beside `path`,
 * flushed, then renamed into place; with `overwrite` it replaces the old file, and readers
 * mapping the old one keep their data), then closes it. @internal
 */
export function writeNewFile(path: string, parts: readonly Uint8Array[], overwrite: unknown): void {
  if (overwrite !== undefined && typeof overwrite !== 'boolean') {
    throw invalidArg(`overwrite must be a boolean, got ${describe(overwrite)}`, path)
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0)
  const write = (map: Mapping): void => {
    const out = new Uint8Array(map.buffer)
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.byteLength
    }
  }
  Mapping.create(path, total, overwrite === true, write).close()
}

/** Saves the raw bytes of `data`, no header (what numpy's `tofile` writes). */
export function saveBinary(path: PathLike, data: TypedArray | MappedArray, opts?: SaveOptions): void {
  const p = toPath(path)
  const o = options(opts, 'saveBinary')
  writeNewFile(p, [bytesOf(data, p)], o.overwrite)
}

/** Maps a raw binary file as an array: `MmapArray.open` with `mode` defaulting to `'r'`. */
export function loadBinary<const T extends DTypeLike = 'float64'>(
  path: PathLike,
  opts?: LoadOptions<T>,
): MmapArray<DTypeOf<T>> {
  const o = options(opts, 'loadBinary')
  return MmapArray.open<T>(path, { ...o, mode: o.mode ?? 'r' })
}
