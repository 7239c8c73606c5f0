import { invalidArg } from './errors.js'
import { MappedResource } from './lifecycle.js'
import { Mapping, MODES, type Mode } from './mapping.js'
import { oneOf, options, size, toPath, type PathLike } from './validate.js'

export interface MmapFileOptions {
  /** `'r'` read-only (default), `'r+'` read-write, `'c'` copy-on-write. */
  mode?: Mode
  /** Byte offset of the window; any value, page alignment is handled for you. */
  offset?: number
  /** Bytes to map; default: the rest of the file. */
  length?: number
}

const SHOWN = ['path', 'mode', 'length', 'closed', 'bytes'] as const

/**
 * Raw bytes of a file, mapped. Close it with `close()` or a `using` declaration. `closed`,
 * `flush()`, `flushAsync()`, `advise()`, `close()` and `[Symbol.dispose]()` follow the same
 * rules as on `MmapArray`.
 */
export class MmapFile extends MappedResource {
  // Members are getters over private state: assigning to them cannot change what the map does.
  readonly #map: Mapping
  readonly #bytes: Uint8Array

  /** The same as `mmapFile(path, options)`. */
  constructor(path: PathLike, opts?: MmapFileOptions) {
    const map = openFile(path, opts)
    super(map, 'map', SHOWN)
    this.#map = map
    try {
      this.#bytes = new Uint8Array(map.buffer)
    } catch (err) {
      map.close()
      if (!(err instanceof RangeError)) throw err
      throw invalidArg(
        `${map.byteLength} bytes is more than one Uint8Array can hold; map a window of the file with offset and length`,
        map.path,
      )
    }
  }

  /** The mapped bytes. After `close()` it (and every view of it) has length 0. */
  get bytes(): Uint8Array {
    return this.#bytes
  }

  /** Bytes mapped (it stays the same after `close()`). */
  get length(): number {
    return this.#map.byteLength
  }

  /** The absolute path of the file. */
  get path(): string {
    return this.#map.path
  }
}

/** Maps a file (or the window `offset .. offset + length` of it) as raw bytes. */
export function mmapFile(path: PathLike, opts?: MmapFileOptions): MmapFile {
  return new MmapFile(path, opts)
}

function openFile(path: PathLike, opts: MmapFileOptions | undefined): Mapping {
  const p = toPath(path)
  const o = options(opts, 'mmapFile')
  const mode = oneOf('mode', o.mode ?? 'r', MODES, p)
  const offset = size('offset', o.offset ?? 0, p)
  const length = o.length === undefined ? undefined : size('length', o.length, p)
  return Mapping.open(p, mode, offset, length)
}
