import { invalidArg, mmapError } from './errors.js'
import { Mapping, MODES, type Advice, type Mode } from './mapping.js'
import { oneOf, options, size, toPath, type PathLike } from './validate.js'

export interface MmapFileOptions {
  /** `'r'` read-only (default), `'r+'` read-write, `'c'` copy-on-write. */
  mode?: Mode
  /** Byte offset of the window; any value, page alignment is handled for you. */
  offset?: number
  /** Bytes to map; default: the rest of the file. */
  length?: number
}

/** Raw bytes of a file, mapped. */
export class MmapFile implements Disposable {
  /** The mapped bytes. After `close()` it (and every view of it) has length 0. */
  readonly bytes: Uint8Array
  readonly length: number
  readonly mode: Mode
  readonly path: string
  readonly #map: Mapping

  /** @internal use `mmapFile()` */
  constructor(map: Mapping) {
    this.#map = map
    try {
      this.bytes = new Uint8Array(map.buffer)
    } catch (err) {
      map.close()
      if (!(err instanceof RangeError)) throw err
      throw invalidArg(
        `${map.byteLength} bytes is more than one Uint8Array can hold; map a window of the file with offset and length`,
        map.path,
      )
    }
    this.length = map.byteLength
    this.mode = map.mode
    this.path = map.path
  }

  get closed(): boolean {
    return this.#map.closed
  }

  get readonly(): boolean {
    return this.mode === 'r'
  }

  /** Writes changes to the file and waits for the disk. `'r'` maps throw `ERR_MMAP_READONLY`. */
  flush(): void {
    this.#live()
    this.#map.flush()
  }

  /** `flush()` on a background thread. */
  flushAsync(): Promise<void> {
    this.#live()
    return this.#map.flushAsync()
  }

  advise(advice: Advice): void {
    this.#live()
    this.#map.advise(advice)
  }

  /** Unmaps. `bytes` and every view made from it drop to length 0. Idempotent. */
  close(): void {
    this.#map.close()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  #live(): void {
    if (this.#map.closed) throw mmapError('ERR_MMAP_CLOSED', 'the map is closed', this.path)
  }
}

/** Maps a file (or the window `offset .. offset + length` of it) as raw bytes. */
export function mmapFile(path: PathLike, opts?: MmapFileOptions): MmapFile {
  const p = toPath(path)
  const o = options(opts, 'mmapFile')
  const mode = oneOf('mode', o.mode ?? 'r', MODES, p)
  const offset = size('offset', o.offset ?? 0, p)
  const length = o.length === undefined ? undefined : size('length', o.length, p)
  return new MmapFile(Mapping.open(p, mode, offset, length))
}
