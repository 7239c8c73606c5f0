import { randomBytes } from 'node:crypto'
import { unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, win32 } from 'node:path'
import { isMainThread } from 'node:worker_threads'

import { MappedArray, type ArrayInit } from './mapped-array.js'
import { arrayFromInit, openInit, type MmapArray } from './mmap-array.js'
import { product, toShape, type Shape } from './shape.js'
import { toDType, type DType, type DTypeLike, type DTypeOf } from './dtype.js'
import { fromFs, invalidArg, native } from './errors.js'
import { Mapping } from './mapping.js'
import {
  createRegion,
  ownedRegionCount,
  ownRegion,
  removeOwnedRegions,
  unlinkOwnedRegion,
  watchOwnedRegions,
} from './native.js'
import { describe, options, type PathLike } from './validate.js'

export interface SharedCreateOptions<T extends DTypeLike = DTypeLike> {
  shape: Shape
  dtype?: T
  /**
   * The region's file name (letters, digits, `.`, `_`, `-`). Default: `memmap-<pid>-<128 random
   * bits>`, which nobody can guess or collide with.
   */
  name?: string
  /**
   * Keep the region after this process exits. By default the process that created the region
   * (whichever of its threads did) removes its name when it exits (see README: processes still
   * attached keep their memory).
   */
  persistent?: boolean
}

export interface SharedOpenOptions<T extends DTypeLike = DTypeLike> {
  /** Default: 1-D over the whole region. */
  shape?: Shape
  dtype?: T
}

const WINDOWS = process.platform === 'win32'

/**
 * Where regions live, by platform: on Linux `/dev/shm` (RAM, shared by every process); on
 * Windows the `Local` namespace of named file mappings (pagefile-backed, what Python's
 * `shared_memory` uses there; not a directory: a region's path is `Local\<name>`); elsewhere
 * (macOS) the temporary directory, where the file system's page cache plays the same part.
 */
export const SHARED_MEMORY_DIR = process.platform === 'linux' ? '/dev/shm' : WINDOWS ? 'Local' : tmpdir()

/** A bare region name: no path separator and no drive, e.g. Python's `psm_1a2b3c`. */
const BARE_NAME = /^[^/\\:]+$/

/** A region name on Windows: `Local\name` or `Global\name`, one level, no path. */
const REGION_NAME = /^(?:Local|Global)\\[^\\/]+$/

/*
 * Who removes a region: the process that created it, whichever of its threads did (see README,
 * "Who removes a region"). The registry is native and process-wide (src/owned.rs): a worker's
 * regions outlive the worker. It removes what is left when the process exits (an `atexit` hook:
 * normal exit, process.exit(), uncaught exception). A signal that would kill the process runs no
 * exit hook: the main thread listens for SIGINT, SIGTERM and SIGHUP while the process owns a
 * region (worker threads receive no signals), and only where the program has no listener of its
 * own. Windows needs none of this: a region there lives while some process holds it, and the
 * exit lets go.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
/** Marks our listeners, so that another copy of this module's are not taken for the program's. */
const OURS = Symbol.for('memmap.sharedMemoryHook')
let hooked = false

/**
 * A signal whose only listeners are ours would kill the process: remove the regions, then let
 * the signal do what it would have done. If the program listens too, it handles the signal: it
 * keeps running and owns its exit, and the regions go when it exits.
 */
const onSignal = Object.assign(
  (signal: NodeJS.Signals): void => {
    if (process.listeners(signal).some((l) => !(OURS in l))) return
    removeOwnedRegions()
    unhook()
    process.kill(process.pid, signal)
  },
  { [OURS]: true },
)

const onExit = Object.assign(() => void removeOwnedRegions(), { [OURS]: true })

function unhook(): void {
  hooked = false
  process.off('exit', onExit)
  for (const signal of SIGNALS) process.off(signal, onSignal)
}

/** Listens while the process owns a region (main thread); called from the native registry too. */
function syncHooks(): void {
  const want = ownedRegionCount() > 0
  if (want === hooked) return
  if (!want) return unhook()
  hooked = true
  process.on('exit', onExit)
  for (const signal of SIGNALS) process.on(signal, onSignal)
}

const HOOKS = isMainThread && !WINDOWS
if (HOOKS) watchOwnedRegions(syncHooks)

/**
 * An array in shared memory that other processes (for example children started with
 * `child_process.fork`) open by `path`. Writes are visible to every process that has it open at
 * once; `flush()` is about durability, not visibility.
 */
export class SharedMemoryArray<D extends DType = DType> extends MappedArray<D> {
  /** What unlink() removes: kept privately, so nothing done to the public members can redirect it. */
  readonly #region: string

  /** @internal use SharedMemoryArray.create / open */
  private constructor(init: ArrayInit) {
    super(init)
    this.#region = init.map.path
  }

  /** A new zero-filled region, mode 0600, created exclusively (never over an existing file or link). */
  static create<const T extends DTypeLike = 'float64'>(opts: SharedCreateOptions<T>): SharedMemoryArray<DTypeOf<T>> {
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
      native(() => createRegion(path, bytes)) // held by the process until unlink() or exit
      let map: Mapping
      try {
        map = Mapping.openRegion(path, bytes)
      } catch (err) {
        unlinkOwnedRegion(path)
        throw err
      }
      return new SharedMemoryArray<DTypeOf<T>>({ map, dtype, shape })
    }
    const path = join(SHARED_MEMORY_DIR, name)
    const map = Mapping.create(path, bytes, false)
    if (o.persistent !== true) {
      try {
        // Records the file's device and inode: at exit, the name is removed only if it is still ours.
        native(() => ownRegion(path))
      } catch (err) {
        map.close()
        try {
          unlinkSync(path)
        } catch {
          // Gone already: nothing to undo.
        }
        throw err
      }
      if (HOOKS) syncHooks()
    }
    return new SharedMemoryArray<DTypeOf<T>>({ map, dtype, shape })
  }

  /**
   * Attaches to a region another process created, by its `path`, or by its bare name (no path
   * separator): the name of a region in the shared-memory namespace, as Python's
   * `multiprocessing.shared_memory.SharedMemory(...).name` gives it (`'psm_1a2b3c'`), which is
   * `basename(path)` of ours. A bare name is never looked up in the working directory.
   */
  static open<const T extends DTypeLike = 'float64'>(
    path: PathLike,
    opts?: SharedOpenOptions<T>,
  ): SharedMemoryArray<DTypeOf<T>> {
    const o = options(opts, 'SharedMemoryArray.open')
    const init = { shape: o.shape, dtype: o.dtype, mode: 'r+' as const }
    if (typeof path === 'string' && BARE_NAME.test(path) && path !== '.' && path !== '..') {
      path = WINDOWS ? win32.join(SHARED_MEMORY_DIR, path) : join(SHARED_MEMORY_DIR, path)
    }
    if (WINDOWS && typeof path === 'string' && REGION_NAME.test(path)) {
      return new SharedMemoryArray<DTypeOf<T>>(
        openInit(path, init, (name, _mode, _offset, length) => Mapping.openRegion(name, length), path),
      )
    }
    return new SharedMemoryArray<DTypeOf<T>>(openInit(path, init))
  }

  /**
   * Closes, then removes the region's name: no process can open it any more. Idempotent. A region
   * this process created is removed only while its name still names it (not one that another
   * process made under the same name since).
   */
  unlink(): void {
    this.close()
    const owned = native(() => unlinkOwnedRegion(this.#region))
    if (HOOKS) syncHooks()
    // Windows: the name goes with the last process that holds or maps the region (Windows keeps
    // no name without an object); this process has let go of it if it held it.
    if (owned || (WINDOWS && REGION_NAME.test(this.#region))) return
    try {
      unlinkSync(this.#region)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFs(err)
    }
  }
}

/**
 * `length` elements of anonymous shared memory (MAP_SHARED, no file): memory outside the V8
 * heap that no other process can name. To share with other processes, use SharedMemoryArray.
 */
export function createSharedBuffer<const T extends DTypeLike>(dtype: T, length: number): MmapArray<DTypeOf<T>> {
  const d = toDType(dtype)
  if (typeof length !== 'number') throw invalidArg(`length must be a number, got ${describe(length)}`)
  const shape = toShape(length, d)
  return arrayFromInit({ map: Mapping.anonymous(product(shape) * d.itemsize), dtype: d, shape }) as MmapArray<
    DTypeOf<T>
  >
}
