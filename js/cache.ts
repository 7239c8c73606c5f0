import { realpathSync, statSync, type BigIntStats, type Stats } from 'node:fs'

import { MmapArray } from './mmap-array.js'
import { product, toShape, type Shape } from './shape.js'
import { toDType, type DTypeInfo, type DTypeLike } from './dtype.js'
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

/** One view of a file, as the options ask for it: validated, the same way on every call. */
interface View {
  /** The absolute path asked for. */
  path: string
  /** dtype, shape, mode and offset as one string: the key of this view among the file's. */
  key: string
  dtype: DTypeInfo
  shape: number[] | undefined
  mode: Mode
  offset: number
  /** With a shape: the file size the view needs (offset + its bytes). */
  needs: number | undefined
}

/** Which file a path names right now, and how big it is. */
interface Identity {
  /** Device and inode (`dev:ino`): one string for every path to one file. */
  file: string
  size: number | bigint
}

/** The cached views of one file (one device and inode) and the paths that have reached it. */
interface FileRecord {
  readonly file: string
  /** By view key. */
  readonly entries: Map<string, Entry>
  /** Paths that named this file when last used, oldest first (at most `PATHS_PER_FILE`). */
  readonly paths: Set<string>
}

interface Entry {
  /** The view key. */
  readonly key: string
  readonly arr: MmapArray
  readonly record: FileRecord
  /** The file size when the array was opened. */
  readonly size: number | bigint
  /** With a shape: the file size the view needs; without, the size must stay `size`. */
  readonly needs: number | undefined
  /** False when the file kept changing while it was opened: never handed out again. */
  readonly trusted: boolean
}

/** Paths remembered per file, for closing views no remembered path reaches any more. */
const PATHS_PER_FILE = 32
/** Opens retried while the file a path names changes during the open (see `getOrCreate`). */
const OPEN_ATTEMPTS = 3

/**
 * An LRU cache of open arrays. A hit returns the very same `MmapArray`.
 *
 * Every call looks at the file system: it validates the options, then stats the path (following
 * symlinks) for the file's identity (device and inode) and size. Entries are keyed by that
 * identity together with dtype, shape, mode and offset, so every path to one file (symlinks,
 * hard links, other spellings) shares its entries, and another view of the file is another
 * entry. A hit is handed out only while the path still names that file and the file still holds
 * the view: the same size for a view without a shape (its length comes from the size), at least
 * offset + the view's bytes for one with a shape. Otherwise the entry is stale: it is closed and
 * the file opened afresh. A path that names another file than before (a re-pointed symlink, a
 * file replaced by a rename) gets that file; views of the old file that no other path has
 * reached through this cache are closed then. A path that names no file is the fs error.
 *
 * The least recently used entry is evicted, and closed, past `maxSize`.
 */
export class MmapCache implements Disposable {
  readonly #maxSize: number
  /** Set iteration order is insertion order: the first entry is the least recently used. */
  readonly #entries = new Set<Entry>()
  /** The files with an entry, by identity. */
  readonly #files = new Map<string, FileRecord>()
  /**
   * The file each path named when it was last used, for the files with an entry. Never used to
   * find a file (every call stats); only to notice that a path has moved on to another file.
   */
  readonly #paths = new Map<string, FileRecord>()

  constructor(opts?: CacheOptions) {
    const o = options(opts, 'MmapCache')
    const maxSize = o.maxSize ?? 100
    if (typeof maxSize !== 'number' || !Number.isSafeInteger(maxSize) || maxSize < 1) {
      throw invalidArg(`maxSize must be an integer >= 1, got ${describe(maxSize)}`)
    }
    this.#maxSize = maxSize
  }

  /** Most arrays kept open (read-only: assigning it changes nothing). */
  get maxSize(): number {
    return this.#maxSize
  }

  get size(): number {
    return this.#entries.size
  }

  /** The cached array for this view of the file `path` names, opened (and cached) on a miss. */
  getOrCreate(path: PathLike, opts?: CacheEntryOptions): MmapArray {
    const view = viewOf(path, opts, 'MmapCache.getOrCreate')
    const p = view.path
    for (let attempt = 1; ; attempt++) {
      const id = this.#identify(p)
      const record = this.#files.get(id.file)
      const hit = record?.entries.get(view.key)
      if (hit !== undefined) {
        if (fresh(hit, id.size)) {
          this.#entries.delete(hit)
          this.#entries.add(hit) // now the most recently used
          this.#remember(p, hit.record)
          return hit.arr
        }
        this.#remove(hit)
      }
      // A miss: views of this file that its new size has made stale are of no use to any path.
      if (record !== undefined) for (const e of record.entries.values()) if (!fresh(e, id.size)) this.#remove(e)

      // Between the stat above and the open below the path can come to name another file (or
      // the file can change size): that race is inherent, as no file system call does both.
      // A second stat after the open narrows it: if the path still names the same file with
      // the same size, the open saw that file (unless the path changed and changed back
      // during the open); if not, the array is closed and the lookup starts again.
      const arr = MmapArray.open(p, { dtype: view.dtype.name, shape: view.shape, mode: view.mode, offset: view.offset })
      let after: Identity
      try {
        after = this.#identify(p)
      } catch (err) {
        arr.close()
        throw err
      }
      const settled = after.file === id.file && after.size === id.size
      if (!settled && attempt < OPEN_ATTEMPTS) {
        arr.close()
        continue
      }
      this.#insert(view, id, arr, settled)
      return arr
    }
  }

  /**
   * Whether this exact view of the file `path` names is cached (with options), or any view of
   * it (without), and would be handed out as it is. Does not count as a use; closes nothing.
   */
  has(path: PathLike, opts?: CacheEntryOptions): boolean {
    const view = opts === undefined ? undefined : viewOf(path, opts, 'MmapCache.has')
    const id = lookAt(view?.path ?? toPath(path))
    if (id === undefined) return false
    const record = this.#files.get(id.file)
    if (record === undefined) return false
    if (view !== undefined) {
      const e = record.entries.get(view.key)
      return e !== undefined && fresh(e, id.size)
    }
    for (const e of record.entries.values()) if (fresh(e, id.size)) return true
    return false
  }

  /** Closes and forgets every cached view of the file `path` names. True if there was one. */
  delete(path: PathLike): boolean {
    const p = toPath(path)
    let id: Identity
    try {
      id = this.#identify(p)
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return false
      throw err
    }
    const record = this.#files.get(id.file)
    if (record === undefined) return false
    let found = false
    for (const e of record.entries.values()) {
      if (fresh(e, id.size)) found = true
      this.#remove(e)
    }
    return found
  }

  /** Closes every cached array. */
  clear(): void {
    const all = [...this.#entries]
    this.#entries.clear()
    this.#files.clear()
    this.#paths.clear()
    for (const e of all) e.arr.close()
  }

  [Symbol.dispose](): void {
    this.clear()
  }

  /**
   * The file `p` names now. If that is another file than `p` last named, `p` no longer reaches
   * the old one; if `p` names no file, the fs error (an `MmapError`) is thrown after that.
   */
  #identify(p: string): Identity {
    let id: Identity
    try {
      id = identify(p)
    } catch (err) {
      this.#forget(p)
      throw err
    }
    const before = this.#paths.get(p)
    if (before !== undefined && before.file !== id.file) this.#forget(p)
    return id
  }

  /**
   * `p` no longer names the file it named. Views of that file stay while another path that has
   * reached them through this cache may still name it (a hard link, the old target of a
   * re-pointed symlink): closing them could take a view from a path that still legitimately
   * reaches it. Views no remembered path reaches are closed: the file is gone or replaced.
   */
  #forget(p: string): void {
    const record = this.#paths.get(p)
    if (record === undefined) return
    this.#paths.delete(p)
    record.paths.delete(p)
    if (record.paths.size === 0) for (const e of record.entries.values()) this.#remove(e)
  }

  #remember(p: string, record: FileRecord): void {
    const before = this.#paths.get(p)
    if (before === record) return
    before?.paths.delete(p) // (not reached: `#identify` has forgotten a path that moved on)
    record.paths.add(p)
    this.#paths.set(p, record)
    if (record.paths.size > PATHS_PER_FILE) {
      // Forgetting a path only means its views may be closed sooner, never handed out wrong.
      const oldest = record.paths.values().next().value as string
      record.paths.delete(oldest)
      this.#paths.delete(oldest)
    }
  }

  #insert(view: View, id: Identity, arr: MmapArray, trusted: boolean): void {
    const stale = this.#files.get(id.file)?.entries.get(view.key)
    if (stale !== undefined) this.#remove(stale) // (a lookup has removed it already)
    let record = this.#files.get(id.file)
    if (record === undefined) {
      record = { file: id.file, entries: new Map(), paths: new Set() }
      this.#files.set(id.file, record)
    }
    const entry: Entry = { key: view.key, arr, record, size: id.size, needs: view.needs, trusted }
    this.#entries.add(entry)
    record.entries.set(view.key, entry)
    this.#remember(view.path, record)
    while (this.#entries.size > this.#maxSize) this.#remove(this.#entries.values().next().value as Entry)
  }

  /** Takes an entry out of the cache and closes its array; forgets its file once it has none. */
  #remove(e: Entry): void {
    this.#entries.delete(e)
    const record = e.record
    if (record.entries.get(e.key) === e) record.entries.delete(e.key)
    if (record.entries.size === 0 && this.#files.get(record.file) === record) {
      this.#files.delete(record.file)
      for (const p of record.paths) if (this.#paths.get(p) === record) this.#paths.delete(p)
      record.paths.clear()
    }
    e.arr.close()
  }
}

/** Whether an entry can be handed out for a file now `size` bytes long. */
function fresh(e: Entry, size: number | bigint): boolean {
  if (!e.trusted || e.arr.closed) return false
  return e.needs === undefined ? size === e.size : size >= e.needs
}

/** The one validation of a cache lookup's path and options: a hit and a miss both go through it. */
function viewOf(path: PathLike, opts: CacheEntryOptions | undefined, what: string): View {
  const p = toPath(path)
  const o = options(opts, what)
  const dtype = toDType(o.dtype ?? 'float64', p)
  const shape = o.shape === undefined ? undefined : toShape(o.shape, dtype, p)
  const mode = oneOf('mode', o.mode ?? 'r', MODES, p)
  const offset = size('offset', o.offset ?? 0, p)
  const needs = shape === undefined ? undefined : offset + product(shape) * dtype.itemsize
  const key = `${dtype.name}\0${shape === undefined ? '*' : shape.join(',')}\0${mode}\0${offset}`
  return { path: p, key, dtype, shape, mode, offset, needs }
}

/**
 * Whether to stat with bigints at once. A plain stat is exact up to 2^53, and costs less (about
 * 10% of a hit here, measured on Linux); NTFS file IDs hold a sequence number in their top 16
 * bits, so on Windows they exceed 2^53 often enough that a plain stat would mostly be wasted.
 */
const BIGINT_FIRST = process.platform === 'win32'
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * The identity and size of the file `p` names, following symlinks. Where an inode number (64-bit
 * on NTFS, ReFS, btrfs, XFS), device or size is past 2^53, the numbers come from a stat with
 * bigints, so that two files never share an identity.
 */
function identify(p: string): Identity {
  let s: Stats | BigIntStats
  try {
    s = statSync(p, { bigint: BIGINT_FIRST })
    if (
      typeof s.ino === 'number' &&
      (!Number.isSafeInteger(s.ino) || !Number.isSafeInteger(s.dev) || !Number.isSafeInteger(s.size))
    ) {
      s = statSync(p, { bigint: true })
    }
  } catch (err) {
    throw fromFs(err)
  }
  let file: string
  if (s.ino === 0 || s.ino === 0n) {
    // Some file systems (network shares, FAT on Windows) report no file number: key those by
    // real path, so a file replaced there by one of the same size goes unnoticed.
    try {
      file = `path:${realpathSync(p)}`
    } catch (err) {
      throw fromFs(err)
    }
  } else {
    // An open mapping keeps its inode allocated, so a live entry's number is never reused.
    file = `${s.dev}:${s.ino}`
  }
  const bytes = s.size
  return { file, size: typeof bytes === 'bigint' && bytes <= MAX_SAFE ? Number(bytes) : bytes }
}

/** `identify`, or undefined for a path that names no file. */
function lookAt(p: string): Identity | undefined {
  try {
    return identify(p)
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined
    throw err
  }
}
