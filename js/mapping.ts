import { constants } from 'node:buffer'

import type { DType } from './dtype.js'
import { fromNative, invalidArg, mmapError, native } from './errors.js'
import * as binding from './native.js'
import { oneOf } from './validate.js'

export type Mode = binding.Mode
export type Advice = binding.Advice
/** How a `wait` ended, as `Atomics.wait` says it. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out'

/** @internal */
export const MODES = binding.MODES
/** @internal */
export const ADVICE = binding.ADVICE

/**
 * Node creates external ArrayBuffers through its Buffer machinery, so one mapping handed to
 * JavaScript is capped at `buffer.constants.MAX_LENGTH` (4 GiB on Node 20, more on later ones).
 * @internal
 */
export const MAX_BUFFER = constants.MAX_LENGTH

/**
 * One native mapping and the ArrayBuffers over it: the whole of it where one buffer can hold
 * it, and windows otherwise. Every public class holds one of these; it is where close()
 * detaches every buffer before the memory is unmapped.
 * @internal
 */
export class Mapping {
  readonly byteLength: number
  readonly mode: Mode
  /** Absolute path of the mapped file, a region's name (Windows), or '' for anonymous memory. */
  readonly path: string
  /** Whether `window()` can map parts of it again: files can, regions and anonymous memory not. */
  readonly isFile: boolean
  /** The native mapping; undefined until first needed for a mapping made by `unmappable()`. */
  #nativeMap: binding.Mapping | undefined
  readonly #make: (() => binding.Mapping) | undefined
  /** Mappings made by `unmappable()`, closed with this one. */
  readonly #children = new Set<Mapping>()
  /** The buffer over the whole mapping, made on first need: opening makes no ArrayBuffer. */
  #whole: ArrayBuffer | undefined
  readonly #windows = new Map<number, ArrayBuffer>()
  /** Mirrors the native state so the hot paths (get/set) check it without a native call. */
  #closed = false

  private constructor(
    nativeMap: binding.Mapping | { byteLength: number; mode: Mode; make: () => binding.Mapping },
    path: string,
    isFile: boolean,
  ) {
    if (nativeMap instanceof binding.Mapping) this.#nativeMap = nativeMap
    else this.#make = nativeMap.make
    this.byteLength = nativeMap.byteLength
    this.mode = nativeMap.mode
    this.path = path
    this.isFile = isFile
  }

  /** The native mapping, mapped now if it was deferred (`unmappable`); never after close. */
  get #native(): binding.Mapping {
    if (this.#nativeMap !== undefined) return this.#nativeMap
    if (this.#closed) throw mmapError('ERR_MMAP_CLOSED', 'the mapping is closed', this.path || undefined)
    this.#nativeMap = native(this.#make!)
    return this.#nativeMap
  }

  static open(path: string, mode: Mode, offset: number, length?: number): Mapping {
    return new Mapping(
      native(() => binding.Mapping.open(path, mode, offset, length)),
      path,
      true,
    )
  }

  /**
   * Opens `path` once, hands `read` the file (to read a header from with `head()`), and maps
   * what `read` returns of that same file: the header and the data cannot come from two files
   * even if the path is replaced meanwhile. The mapper `read` gets maps `[offset, offset + length)`.
   */
  static openParsed<T>(
    path: string,
    mode: Mode,
    read: (head: (length: number) => Uint8Array, map: (offset: number, length?: number) => Mapping) => T,
  ): T {
    const file = native(() => binding.RegularFile.open(path, mode))
    try {
      return read(
        (length) => native(() => file.head(length)),
        (offset, length) =>
          new Mapping(
            native(() => file.map(offset, length)),
            path,
            true,
          ),
      )
    } finally {
      file.close()
    }
  }

  /** A named shared-memory region (Windows' backing of SharedMemoryArray), read-write. */
  static openRegion(name: string, length?: number): Mapping {
    return new Mapping(
      native(() => binding.Mapping.openRegion(name, length)),
      name,
      false,
    )
  }

  /**
   * A new file of `byteLength` bytes, zero-filled, mapped read-write. It is built beside `path`
   * under a temporary name: `write` fills it in (through the mapping it is given, closed after),
   * then it is flushed to disk and renamed to `path` in one step, and the returned mapping is of
   * the file there. A reader of `path` sees the old file or all of the new one. If anything
   * fails, `write` included, the new file is removed and `path` is as it was.
   */
  static create(path: string, byteLength: number, overwrite: boolean, write?: (map: Mapping) => void): Mapping {
    const staged = new Mapping(
      native(() => binding.Mapping.create(path, byteLength, overwrite)),
      path,
      true,
    )
    try {
      write?.(staged)
      const placed = native(() => staged.#native.commit(staged.#release()))
      staged.#closed = true
      return new Mapping(placed, path, true)
    } catch (err) {
      staged.close()
      throw err
    }
  }

  static anonymous(byteLength: number): Mapping {
    return new Mapping(
      native(() => binding.Mapping.anonymous(byteLength)),
      '',
      false,
    )
  }

  /** Whether one ArrayBuffer can hold the whole mapping. */
  get fitsOneBuffer(): boolean {
    return this.byteLength <= MAX_BUFFER
  }

  /**
   * The one ArrayBuffer over the whole mapping, made on first use: an external buffer's size
   * counts as V8 external memory and making a large one costs tens of microseconds, so a mapping
   * that is only opened, reduced or read element by element (`read`) never makes one.
   */
  get buffer(): ArrayBuffer {
    if (this.#whole !== undefined) return this.#whole
    if (!this.fitsOneBuffer) {
      throw invalidArg(
        `${this.byteLength} bytes is more than one ArrayBuffer can hold in this Node.js ` +
          `(buffer.constants.MAX_LENGTH = ${MAX_BUFFER}); map a window of it with offset and length`,
        this.path || undefined,
      )
    }
    this.#whole = native(() => this.#native.buffer()) as ArrayBuffer
    return this.#whole
  }

  /** An ArrayBuffer over `byteLength` bytes at `byteOffset`, made once per offset and kept until close. */
  window(byteOffset: number, byteLength: number): ArrayBuffer {
    let w = this.#windows.get(byteOffset)
    if (w === undefined) {
      try {
        w = native(() => this.#native.buffer(byteOffset, byteLength))
      } catch (err) {
        // A failure with no buffer over the mapping unmaps it at once (src/mapping.rs): closed.
        if (this.#native.closed) this.#closed = true
        throw err
      }
      this.#windows.set(byteOffset, w)
    }
    return w
  }

  /** Copies `into.length` bytes at `byteOffset` into `into`, with no buffer over the mapping. */
  read(byteOffset: number, into: Uint8Array): void {
    native(() => this.#native.read(byteOffset, into))
  }

  /** Copies `from` to `byteOffset`, with no buffer over the mapping. */
  write(byteOffset: number, from: Uint8Array): void {
    native(() => this.#native.write(byteOffset, from))
  }

  /**
   * A separate mapping of `byteLength` bytes at `byteOffset` of the same file: closing it
   * unmaps its pages, which releases them where advice cannot (Windows). Closed with this one.
   * It is mapped on first use, not here: taking many (a model's tensors) costs no system call
   * until one is touched, and one never touched is never mapped. The range is checked by the
   * caller against this mapping; the native side checks it again when it maps.
   */
  unmappable(byteOffset: number, byteLength: number): Mapping {
    const child = new Mapping(
      { byteLength, mode: this.mode, make: () => this.#native.window(byteOffset, byteLength) },
      this.path,
      true,
    )
    this.#children.add(child)
    return child
  }

  get closed(): boolean {
    return this.#closed
  }

  flush(): void {
    native(() => this.#native.flush())
  }

  async flushAsync(): Promise<void> {
    const pending = native(() => this.#native.flushAsync())
    try {
      await pending
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** A native reduction over the whole mapping read as `dtype` (a canonical name). */
  reduce(dtype: DType, op: 'sum' | 'mean' | 'std' | 'min' | 'max'): number | bigint {
    return native(() => this.#native.reduce(dtype, op))
  }

  /**
   * Count, sum, mean, std, min and max of the whole mapping read as `dtype`, from one native
   * pass off the main thread (see `Mapping.stats` in src/mapping.rs). `onProgress(bytes)` is
   * called with the bytes reduced so far, increasing, ending at `byteLength` before the promise
   * resolves.
   */
  async stats(dtype: DType, onProgress?: (bytes: number) => void): Promise<binding.Stats> {
    let done = 0
    let settled = false
    // The native side reports from another thread; a report may arrive after the result.
    const report = (bytes: number): void => {
      if (settled || bytes <= done) return
      done = bytes
      onProgress?.(bytes)
    }
    const pending = native(() => this.#native.stats(dtype, onProgress && report))
    let result: binding.Stats
    try {
      result = await pending
    } catch (err) {
      throw fromNative(err)
    } finally {
      settled = true
    }
    if (done < this.byteLength) onProgress?.(this.byteLength)
    return result
  }

  /** Sleeps while the int32 at `byteOffset` holds `expected` (see src/wait.rs). */
  wait(byteOffset: number, expected: number, timeoutMs?: number): WaitResult {
    return native(() => this.#native.wait(byteOffset, expected, timeoutMs))
  }

  /** `wait` on a thread of its own, never libuv's threadpool; `close()` rejects it (`ERR_MMAP_CLOSED`). */
  async waitAsync(byteOffset: number, expected: number, timeoutMs?: number): Promise<WaitResult> {
    const pending = native(() => this.#native.waitAsync(byteOffset, expected, timeoutMs))
    try {
      return await pending
    } catch (err) {
      throw fromNative(err)
    }
  }

  /** Wakes up to `count` waiters on the int32 at `byteOffset`, in every process; how many were woken. */
  notify(byteOffset: number, count?: number): number {
    return native(() => this.#native.notify(byteOffset, count))
  }

  advise(advice: unknown, offset?: number, length?: number): void {
    const a = oneOf('advice', advice, ADVICE, this.path || undefined)
    native(() => this.#native.advise(a, offset, length))
  }

  close(): void {
    const buffers = this.#release()
    if (this.#nativeMap !== undefined) native(() => this.#nativeMap!.close(buffers))
    this.#closed = true
    this.#windows.clear()
  }

  /** Closes the children and lists every buffer over the mapping, for the native side to detach. */
  #release(): ArrayBuffer[] {
    for (const child of this.#children) child.close()
    this.#children.clear()
    const buffers = [...this.#windows.values()]
    if (this.#whole !== undefined) buffers.push(this.#whole)
    return buffers
  }
}
