import { randomBytes } from 'node:crypto'
import { unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, win32 } from 'node:path'

import {
  arrayFromInit,
  MappedArray,
  openInit,
  product,
  toShape,
  type ArrayInit,
  type MmapArray,
  type Shape,
} from './array.js'
import { toDType, type DTypeLike } from './dtype.js'
import { fromFs, invalidArg, native } from './errors.js'
import { Mapping } from './mapping.js'
import { NativeRegion } from './native.js'
import { describe, options, type PathLike } from './validate.js'

export interface SharedCreateOptions {
  shape: Shape
  dtype?: DTypeLike
  /**
   * The region's file name (letters, digits, `.`, `_`, `-`). Default: `memmap-<pid>-<128 random
   * bits>`, which nobody can guess or collide with.
   */
  name?: string
  /**
   * Keep the region after this process exits. By default the creator removes the region's name
   * when it exits (see README: processes still attached keep their memory).
   */
  persistent?: boolean
}

export interface SharedOpenOptions {
  /** Default: 1-D over the whole region. */
  shape?: Shape
  dtype?: DTypeLike
}

const WINDOWS = process.platform === 'win32'

/**
 * Where regions live, by platform: on Linux `/dev/shm` (RAM, shared by every process); on
 * Windows the `Local` namespace of named file mappings (pagefile-backed, what Python's
 * `shared_memory` uses there; not a directory: a region's path is `Local\<name>`); elsewhere
 * (macOS) the temporary directory, where the file system's page cache plays the same part.
 */
export const SHARED_MEMORY_DIR = process.platform === 'linux' ? '/dev/shm' : WINDOWS ? 'Local' : tmpdir()

/** A region name on Windows: `Local\name` or `Global\name`, one level, no path. */
const REGION_NAME = /^(?:Local|Global)\\[^\\/]+$/

/**
 * Regions this process created and still owns: removed when it exits. On Windows the value
 * holds the region, which lives while some process holds or maps it: the exit itself lets go.
 */
const owned = new Map<string, NativeRegion | undefined>()
let hooked = false

function removeOwned(): void {
  for (const path of owned.keys()) {
    if (WINDOWS) continue
    try {
      unlinkSync(path)
    } catch {
      // Already gone (unlinked by another process): nothing to clean.
    }
  }
  owned.clear()
}

/**
 * A signal that would kill the process skips 'exit' handlers. Clean up, then let the signal do
 * what it would have done, unless the program handles it itself.
 */
function onSignal(signal: NodeJS.Signals): void {
  removeOwned()
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

function own(path: string, region: NativeRegion | undefined): void {
  owned.set(path, region)
  if (hooked) return
  hooked = true
  process.on('exit', removeOwned)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal)
}

/**
 * An array in shared memory that other processes (for example children started with
 * `child_process.fork`) open by `path`. Writes are visible to every process that has it open at
 * once; `flush()` is about durability, not visibility.
 */
export class SharedMemoryArray extends MappedArray {
  /** @internal use SharedMemoryArray.create / open */
  private constructor(init: ArrayInit) {
    super(init)
  }

  /** A new zero-filled region, mode 0600, created exclusively (never over an existing file or link). */
  static create(opts: SharedCreateOptions): SharedMemoryArray {
    const o = options(opts, 'SharedMemoryArray.create')
    if (o.shape === undefined) throw invalidArg('SharedMemoryArray.create needs a shape')
    const dtype = toDType(o.dtype ?? 'float64')
    const shape = toShape(o.shape, dtype)
    if (o.persistent !== undefined && typeof o.persistent !== 'boolean') {
      throw invalidArg(`persistent must be a boolean, got ${describe(o.persistent)}`)
    }
    const name = o.name ?? `memmap-${process.pid}-${randomBytes(16).toString('hex')}`
    if (typeof name !== 'string' || !/^[\w.-]{1,200}$/.test(name) || name === '.' || name === '..') {
      throw invalidArg(`name must be 1-200 letters, digits, '.', '_' or '-', got ${describe(name)}`)
    }
    const bytes = product(shape) * dtype.itemsize
    if (WINDOWS) {
      if (o.persistent === true) {
        throw invalidArg(
          'persistent regions are not supported on Windows: a named file mapping lives only while some process holds it',
        )
      }
      const path = win32.join(SHARED_MEMORY_DIR, name)
      const region = native(() => NativeRegion.create(path, bytes))
      let map: Mapping
      try {
        map = Mapping.openRegion(path, bytes)
      } catch (err) {
        region.release()
        throw err
      }
      own(path, region)
      return new SharedMemoryArray({ map, dtype, shape })
    }
    const path = join(SHARED_MEMORY_DIR, name)
    const map = Mapping.create(path, bytes, false)
    if (o.persistent !== true) own(path, undefined)
    return new SharedMemoryArray({ map, dtype, shape })
  }

  /** Attaches to a region another process created, by its `path`. */
  static open(path: PathLike, opts?: SharedOpenOptions): SharedMemoryArray {
    const o = options(opts, 'SharedMemoryArray.open')
    const init = { shape: o.shape, dtype: o.dtype, mode: 'r+' as const }
    if (WINDOWS && typeof path === 'string' && REGION_NAME.test(path)) {
      return new SharedMemoryArray(
        openInit(path, init, (name, _mode, _offset, length) => Mapping.openRegion(name, length), path),
      )
    }
    return new SharedMemoryArray(openInit(path, init))
  }

  /** Closes, then removes the region's name: no process can open it any more. Idempotent. */
  unlink(): void {
    this.close()
    if (WINDOWS && REGION_NAME.test(this.path)) {
      // The name goes with the last process that holds or maps the region (Windows keeps no
      // name without an object): this process lets go of it.
      owned.get(this.path)?.release()
      owned.delete(this.path)
      return
    }
    owned.delete(this.path)
    try {
      unlinkSync(this.path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFs(err)
    }
  }
}

/**
 * `length` elements of anonymous shared memory (MAP_SHARED, no file): memory outside the V8
 * heap that no other process can name. To share with other processes, use SharedMemoryArray.
 */
export function createSharedBuffer(dtype: DTypeLike, length: number): MmapArray {
  const d = toDType(dtype)
  if (typeof length !== 'number') throw invalidArg(`length must be a number, got ${describe(length)}`)
  const shape = toShape(length, d)
  return arrayFromInit({ map: Mapping.anonymous(product(shape) * d.itemsize), dtype: d, shape })
}
