import { realpathSync } from 'node:fs'
import { isAbsolute } from 'node:path'

import { MmapArray, toShape, type Shape } from './array.js'
import { toDType, type DTypeLike } from './dtype.js'
import { fromFs, invalidArg } from './errors.js'
import { MODES, type Mode } from './mapping.js'
import { describe, oneOf, options, size, toPath, type PathLike } from './validate.js'

export interface CacheOptions {
  /** Most arrays kept open; at least 1. Default 100. */
  maxSize?: number
}

export interface CacheEntryOptions {
  shape?: Shape
  dtype?: DTypeLike
  /** Default `'r'`: a cache mostly serves readers. */
  mode?: Mode
  offset?: number
}

interface Key {
  key: string
  realPath: string
}

/**
 * An LRU cache of open arrays. A hit returns the very same `MmapArray`. Entries are keyed by the
 * file's real path together with dtype, shape, mode and offset, so another view of the same file
 * is another entry. The least recently used entry is evicted, and closed, past `maxSize`.
 */
export class MmapCache implements Disposable {
  readonly maxSize: number
  /** Map iteration order is insertion order: the first entry is the least recently used. */
  readonly #entries = new Map<string, { arr: MmapArray; realPath: string }>()
  /**
   * Real paths of the paths asked for, so that a hit costs no system call. A symlink re-pointed
   * while the cache holds a view of it keeps resolving to the old target until that entry goes.
   */
  readonly #real = new Map<string, string>()
  /**
   * Hits by the arguments as given (path string and the options' values), so a hit skips the
   * validation and key building a miss needs. Entries are dropped with the entry they point to.
   */
  readonly #fast = new Map<string, string>()

  constructor(opts?: CacheOptions) {
    const o = options(opts, 'MmapCache')
    const maxSize = o.maxSize ?? 100
    if (typeof maxSize !== 'number' || !Number.isSafeInteger(maxSize) || maxSize < 1) {
      throw invalidArg(`maxSize must be an integer >= 1, got ${describe(maxSize)}`)
    }
    this.maxSize = maxSize
  }

  get size(): number {
    return this.#entries.size
  }

  /** The cached array for this view of `path`, opened (and cached) on a miss. */
  getOrCreate(path: PathLike, opts?: CacheEntryOptions): MmapArray {
    const quick = quickKey(path, opts)
    if (quick !== undefined) {
      const key = this.#fast.get(quick)
      const hit = key === undefined ? undefined : this.#entries.get(key)
      if (hit !== undefined && !hit.arr.closed) {
        this.#entries.delete(key as string)
        this.#entries.set(key as string, hit)
        return hit.arr
      }
    }
    const { key, realPath } = keyOf(path, opts, this.#real)
    if (quick !== undefined) this.#fast.set(quick, key)
    const hit = this.#entries.get(key)
    if (hit !== undefined) {
      this.#entries.delete(key)
      if (!hit.arr.closed) {
        this.#entries.set(key, hit) // now the most recently used
        return hit.arr
      }
    }
    const o = options(opts, 'MmapCache.getOrCreate')
    const arr = MmapArray.open(realPath, { ...o, mode: o.mode ?? 'r' })
    this.#entries.set(key, { arr, realPath })
    while (this.#entries.size > this.maxSize) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, { arr: MmapArray }]
      this.#entries.delete(oldest)
      entry.arr.close()
    }
    if (this.#real.size > 4 * this.maxSize || this.#fast.size > 4 * this.maxSize) this.#forgetUnused()
    return arr
  }

  /**
   * Whether this exact view is cached (with options), or any view of `path` (without). Does not
   * count as a use.
   */
  has(path: PathLike, opts?: CacheEntryOptions): boolean {
    let k: Key
    try {
      k = keyOf(path, opts)
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return false
      throw err
    }
    if (opts !== undefined) return this.#entries.get(k.key)?.arr.closed === false
    for (const e of this.#entries.values()) if (e.realPath === k.realPath && !e.arr.closed) return true
    return false
  }

  /** Closes and forgets every cached view of `path`. True if there was one. */
  delete(path: PathLike): boolean {
    let realPath: string
    try {
      realPath = keyOf(path, undefined).realPath
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return false
      throw err
    }
    let found = false
    for (const [key, e] of this.#entries) {
      if (e.realPath !== realPath) continue
      this.#entries.delete(key)
      e.arr.close()
      found = true
    }
    return found
  }

  /** Closes every cached array. */
  clear(): void {
    const all = [...this.#entries.values()]
    this.#entries.clear()
    this.#real.clear()
    this.#fast.clear()
    for (const e of all) e.arr.close()
  }

  [Symbol.dispose](): void {
    this.clear()
  }

  #forgetUnused(): void {
    const live = new Set([...this.#entries.values()].map((e) => e.realPath))
    for (const [p, real] of this.#real) if (!live.has(real)) this.#real.delete(p)
    for (const [q, key] of this.#fast) if (!this.#entries.has(key)) this.#fast.delete(q)
  }
}

/** The arguments as one string, when they are plain enough to serve as a lookup key. */
function quickKey(path: PathLike, opts: CacheEntryOptions | undefined): string | undefined {
  // Absolute paths only: a relative one means another file after a chdir.
  if (typeof path !== 'string' || !isAbsolute(path)) return undefined
  if (opts === undefined) return path
  const { shape, dtype, mode, offset } = opts
  if (typeof dtype === 'function') return undefined
  return `${path}\0${String(dtype)}\0${Array.isArray(shape) ? shape.join(',') : String(shape)}\0${String(mode)}\0${String(offset)}`
}

function keyOf(path: PathLike, opts: CacheEntryOptions | undefined, memo?: Map<string, string>): Key {
  const p = toPath(path)
  const o = options(opts, 'MmapCache')
  const dtype = toDType(o.dtype ?? 'float64', p)
  const shape = o.shape === undefined ? '*' : toShape(o.shape, dtype, p).join(',')
  const mode = oneOf('mode', o.mode ?? 'r', MODES, p)
  const offset = size('offset', o.offset ?? 0, p)
  let realPath = memo?.get(p)
  if (realPath === undefined) {
    try {
      realPath = realpathSync(p)
    } catch (err) {
      throw fromFs(err)
    }
    memo?.set(p, realPath)
  }
  return { key: JSON.stringify([realPath, dtype.name, shape, mode, offset]), realPath }
}
