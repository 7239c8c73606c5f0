import { realpathSync } from 'node:fs'

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
    const { key, realPath } = keyOf(path, opts, this.#real)
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
    if (this.#real.size > 4 * this.maxSize) this.#forgetUnused()
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
    for (const e of all) e.arr.close()
  }

  [Symbol.dispose](): void {
    this.clear()
  }

  #forgetUnused(): void {
    const live = new Set([...this.#entries.values()].map((e) => e.realPath))
    for (const [p, real] of this.#real) if (!live.has(real)) this.#real.delete(p)
  }
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
