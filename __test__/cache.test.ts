import {
  appendFileSync,
  linkSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapCache, MmapError } from '../dist/index.mjs'
import { NOT_ON_WINDOWS, posixTest, tempDir, thrown, WINDOWS } from './helpers'

const dir = tempDir()
const f64 = (values: number[]): Uint8Array => new Uint8Array(new Float64Array(values).buffer)
const files = Array.from({ length: 5 }, (_, i) => {
  const p = join(dir, `c${i}.bin`)
  writeFileSync(p, f64([i, i + 1, i + 2, i + 3]))
  return p
})
let fresh = 0
/** A new file of float64 `values`, for a test that changes files under the cache. */
const file = (values: number[]): string => {
  const p = join(dir, `f${fresh++}.bin`)
  writeFileSync(p, f64(values))
  return p
}
/** Why the tests that change a file the cache maps skip on Windows. */
const MAPPED = 'Windows refuses to delete, replace or truncate a file while it is mapped'

describe('MmapCache', () => {
  it('a hit returns the same object and does not reopen', () => {
    using cache = new MmapCache()
    const a = cache.getOrCreate(files[0])
    expect(cache.getOrCreate(files[0])).toBe(a)
    expect(cache.size).toBe(1)
    expect(a.mode).toBe('r') // the cache's default mode
  })

  it('evicts the least recently used, not the first inserted (LRU, not FIFO)', () => {
    using cache = new MmapCache({ maxSize: 3 })
    const a = cache.getOrCreate(files[0])
    const b = cache.getOrCreate(files[1])
    const c = cache.getOrCreate(files[2])
    expect(cache.getOrCreate(files[0])).toBe(a) // a is now the most recent: b is the LRU
    const d = cache.getOrCreate(files[3])
    expect(b.closed).toBe(true) // evicted and closed
    expect([a.closed, c.closed, d.closed]).toEqual([false, false, false])
    expect(cache.has(files[1])).toBe(false)
    expect(cache.has(files[0])).toBe(true)
    cache.getOrCreate(files[4]) // c is the LRU now
    expect(c.closed).toBe(true)
    expect(cache.size).toBe(3)
  })

  it('keys by file, dtype, shape, mode and offset', () => {
    using cache = new MmapCache()
    const base = cache.getOrCreate(files[0], { dtype: 'float64' })
    expect(cache.getOrCreate(files[0], { dtype: 'f8' })).toBe(base) // same dtype, other spelling
    expect(cache.getOrCreate(join(dir, '.', 'c0.bin'))).toBe(base)
    const views = [
      cache.getOrCreate(files[0], { dtype: 'int32' }),
      cache.getOrCreate(files[0], { shape: [2, 2] }),
      cache.getOrCreate(files[0], { mode: 'c' }),
      cache.getOrCreate(files[0], { offset: 8 }),
    ]
    expect(new Set([base, ...views]).size).toBe(5)
    expect(views[0].dtype).toBe('int32')
    expect(views[1].shape).toEqual([2, 2])
    expect(views[3].get(0)).toBe(1)
    expect(cache.size).toBe(5)
  })

  it.skipIf(WINDOWS)(posixTest('a symlink is the same entry as its target', NOT_ON_WINDOWS.symlinks), () => {
    using cache = new MmapCache()
    const base = cache.getOrCreate(files[0], { dtype: 'float64' })
    const link = join(dir, 'link0.bin')
    symlinkSync(files[0], link)
    expect(cache.getOrCreate(link, { dtype: 'float64' })).toBe(base) // same real path
  })

  it('has() with options is exact and does not refresh', () => {
    using cache = new MmapCache({ maxSize: 2 })
    const a = cache.getOrCreate(files[0], { shape: [4] })
    cache.getOrCreate(files[1])
    expect(cache.has(files[0], { shape: [4] })).toBe(true)
    expect(cache.has(files[0], { shape: [2, 2] })).toBe(false)
    expect(cache.has(join(dir, 'missing.bin'))).toBe(false)
    cache.getOrCreate(files[2]) // has() did not refresh a: a goes
    expect(a.closed).toBe(true)
  })

  it('delete() closes and forgets every view of a path', () => {
    using cache = new MmapCache()
    const a = cache.getOrCreate(files[0])
    const b = cache.getOrCreate(files[0], { dtype: 'int64' })
    const c = cache.getOrCreate(files[1])
    expect(cache.delete(files[0])).toBe(true)
    expect([a.closed, b.closed, c.closed]).toEqual([true, true, false])
    expect(cache.delete(files[0])).toBe(false)
    expect(cache.delete(join(dir, 'missing.bin'))).toBe(false)
    expect(cache.size).toBe(1)
  })

  it('clear() and dispose close everything', () => {
    const cache = new MmapCache()
    const a = cache.getOrCreate(files[0])
    const b = cache.getOrCreate(files[1])
    cache.clear()
    expect([a.closed, b.closed, cache.size]).toEqual([true, true, 0])
    const c = cache.getOrCreate(files[2])
    cache[Symbol.dispose]()
    expect(c.closed).toBe(true)
  })

  it('an entry closed by its user is reopened, not handed out dead', () => {
    using cache = new MmapCache()
    const a = cache.getOrCreate(files[0])
    a.close()
    expect(cache.has(files[0])).toBe(false)
    const again = cache.getOrCreate(files[0])
    expect(again).not.toBe(a)
    expect(again.get(0)).toBe(0)
    expect(cache.size).toBe(1)
  })

  it('maxSize must be an integer >= 1', () => {
    for (const bad of [0, -1, 1.5, NaN, '2', Infinity]) {
      expect(thrown(() => new MmapCache({ maxSize: bad as never })).code).toBe('ERR_MMAP_INVALID_ARG')
    }
    using one = new MmapCache({ maxSize: 1 })
    const a = one.getOrCreate(files[0])
    one.getOrCreate(files[1])
    expect(a.closed).toBe(true)
  })

  it('errors: a missing file is ENOENT with its path; bad options are ERR_MMAP_INVALID_ARG', () => {
    using cache = new MmapCache()
    const missing = join(dir, 'missing.bin')
    expect(thrown(() => cache.getOrCreate(missing))).toMatchObject({ code: 'ENOENT', path: missing })
    expect(thrown(() => cache.getOrCreate(files[0], { dtype: 'f16' })).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(thrown(() => cache.getOrCreate(files[0], { mode: 'x' as never })).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(cache.size).toBe(0)
  })

  it('a hit validates options as a miss does: wrong types are ERR_MMAP_INVALID_ARG, cached or not', () => {
    // Pairs of a valid spelling, cached first, and an invalid one that a lookup keyed by the
    // options' string values took for it.
    const cases: [object, object][] = [
      [{ offset: 0 }, { offset: '0' }],
      [{ offset: 0 }, { offset: [0] }],
      [{ shape: [2, 2] }, { shape: ['2', '2'] }],
      [{ shape: [2, 2] }, { shape: '2,2' }],
      [{ shape: [2, 2] }, { shape: [[2], [2]] }],
      [{ mode: 'r' }, { mode: 'x' }],
      [{ mode: 'r' }, { mode: ['r'] }],
      [{ dtype: 'float64' }, { dtype: 'nope' }],
      [{ dtype: 'float64' }, { dtype: { toString: () => 'float64' } }],
    ]
    using cache = new MmapCache()
    for (const [good, bad] of cases) {
      const what = JSON.stringify(bad) ?? String(bad)
      const cold = thrown(() => new MmapCache().getOrCreate(files[0], bad as never))
      expect(cold, `cold ${what}`).toBeInstanceOf(MmapError)
      expect(cold.code, `cold ${what}`).toBe('ERR_MMAP_INVALID_ARG')
      const a = cache.getOrCreate(files[0], good)
      expect(cache.getOrCreate(files[0], good)).toBe(a) // a hit
      const warm = thrown(() => cache.getOrCreate(files[0], bad as never))
      expect(warm, `after a hit ${what}`).toBeInstanceOf(MmapError)
      expect(warm.code, `after a hit ${what}`).toBe('ERR_MMAP_INVALID_ARG')
      expect(thrown(() => cache.has(files[0], bad as never)).code, `has ${what}`).toBe('ERR_MMAP_INVALID_ARG')
      expect(a.closed).toBe(false)
    }
    expect(cache.size).toBe(2) // the defaults' view and the [2, 2] one
  })

  it("a hard link shares its file's entries, and has()/delete() through it see them", () => {
    using cache = new MmapCache()
    const p = file([1, 2, 3, 4])
    const hard = join(dir, 'hard-link.bin')
    linkSync(p, hard)
    const a = cache.getOrCreate(p)
    expect(cache.getOrCreate(hard)).toBe(a) // one file (device and inode), one entry
    expect(cache.has(hard)).toBe(true)
    expect(cache.size).toBe(1)
    expect(cache.delete(hard)).toBe(true)
    expect([a.closed, cache.size, cache.has(p)]).toEqual([true, 0, false])
  })

  it.skipIf(WINDOWS)(
    posixTest('a re-pointed symlink opens its new target, for new and for cached views', NOT_ON_WINDOWS.symlinks),
    () => {
      using cache = new MmapCache()
      const [a, b] = [file([10, 11, 12, 13]), file([20, 21, 22, 23])]
      const link = join(dir, 'moving-link.bin')
      symlinkSync(a, link)
      const old = cache.getOrCreate(link)
      expect(old.get(0)).toBe(10)
      unlinkSync(link)
      symlinkSync(b, link)
      const view = cache.getOrCreate(link, { shape: [2, 2] }) // not cached yet
      expect([view.get(0, 0), view.get(1, 1)]).toEqual([20, 23])
      const again = cache.getOrCreate(link) // cached before, through the link to a
      expect(again).not.toBe(old)
      expect([...again.array]).toEqual([20, 21, 22, 23])
      expect(old.closed).toBe(true) // only the link reached a's view, and it no longer does
      expect(cache.size).toBe(2)
    },
  )

  it.skipIf(WINDOWS)(
    posixTest("a symlink shares its target's entry, also after it is re-pointed", NOT_ON_WINDOWS.symlinks),
    () => {
      using cache = new MmapCache()
      const [a, b] = [file([1, 2]), file([3, 4])]
      const link = join(dir, 'shared-link.bin')
      symlinkSync(a, link)
      const viaLink = cache.getOrCreate(link)
      expect(cache.getOrCreate(a)).toBe(viaLink)
      const direct = cache.getOrCreate(b)
      unlinkSync(link)
      symlinkSync(b, link)
      expect(cache.getOrCreate(link)).toBe(direct)
      expect(cache.has(link)).toBe(true)
      // a is still reached by its own path, so its view stays open and cached
      expect(viaLink.closed).toBe(false)
      expect(cache.getOrCreate(a)).toBe(viaLink)
      expect(cache.size).toBe(2)
    },
  )

  it.skipIf(WINDOWS)(posixTest('a deleted file: has() and delete() are false, getOrCreate() is ENOENT', MAPPED), () => {
    using cache = new MmapCache()
    const p = file([1, 2, 3, 4])
    const a = cache.getOrCreate(p)
    unlinkSync(p)
    expect(cache.has(p)).toBe(false)
    expect(a.closed).toBe(false) // has() closes nothing
    const err = thrown(() => cache.getOrCreate(p))
    expect(err).toBeInstanceOf(MmapError)
    expect(err).toMatchObject({ code: 'ENOENT', path: p, syscall: 'stat' })
    expect([a.closed, cache.size]).toEqual([true, 0]) // the file is gone: its view is closed
    expect(cache.delete(p)).toBe(false)
  })

  it.skipIf(WINDOWS)(posixTest('a file replaced by a rename is opened afresh', MAPPED), () => {
    using cache = new MmapCache()
    const p = file([1, 2, 3, 4])
    const a = cache.getOrCreate(p)
    const next = file([5, 6, 7, 8])
    renameSync(next, p)
    expect(cache.has(p)).toBe(false)
    const b = cache.getOrCreate(p)
    expect(b).not.toBe(a)
    expect([...b.array]).toEqual([5, 6, 7, 8])
    expect(a.closed).toBe(true) // no path reaches the old file any more
    expect(cache.getOrCreate(p)).toBe(b)
    expect(cache.size).toBe(1)
  })

  it.skipIf(WINDOWS)(posixTest("a replaced file's views stay while a hard link still reaches them", MAPPED), () => {
    using cache = new MmapCache()
    const p = file([1, 2, 3, 4])
    const hard = join(dir, 'keeps-old.bin')
    linkSync(p, hard)
    const a = cache.getOrCreate(p)
    expect(cache.getOrCreate(hard)).toBe(a)
    renameSync(file([5, 6, 7, 8]), p)
    const b = cache.getOrCreate(p)
    expect([...b.array]).toEqual([5, 6, 7, 8])
    expect(a.closed).toBe(false)
    expect(cache.getOrCreate(hard)).toBe(a)
    expect([...a.array]).toEqual([1, 2, 3, 4])
    expect(cache.size).toBe(2)
  })

  it.skipIf(WINDOWS)(
    posixTest('a file grown or truncated in place: views without a shape follow its length', MAPPED),
    () => {
      using cache = new MmapCache()
      const p = file([1, 2, 3, 4])
      const a = cache.getOrCreate(p)
      const head = cache.getOrCreate(p, { shape: [2] })
      appendFileSync(p, f64([5, 6, 7, 8]))
      expect(cache.has(p, {})).toBe(false) // the cached view has the old length
      const grown = cache.getOrCreate(p)
      expect(grown).not.toBe(a)
      expect(grown.length).toBe(8)
      expect(grown.get(7)).toBe(8)
      expect(a.closed).toBe(true)
      expect(cache.getOrCreate(p, { shape: [2] })).toBe(head) // the file still holds it
      truncateSync(p, 8)
      const shrunk = cache.getOrCreate(p)
      expect([...shrunk.array]).toEqual([1])
      expect(head.closed).toBe(true) // the file no longer holds it: never handed out again
      expect(cache.has(p, { shape: [2] })).toBe(false)
      expect(thrown(() => cache.getOrCreate(p, { shape: [2] })).code).toBe('ERR_MMAP_SIZE_MISMATCH')
      expect(cache.size).toBe(1)
    },
  )
})

describe('members that steer destructive or bounded work are private state', () => {
  it('MmapCache.maxSize cannot be assigned: eviction still keeps at most the constructed size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'memmap-contract-cache-'))
    try {
      const files = [0, 1, 2].map((i) => {
        const p = join(dir, `${i}.bin`)
        writeFileSync(p, new Uint8Array(8))
        return p
      })
      const cache = new MmapCache({ maxSize: 1 })
      expect(() => {
        ;(cache as { maxSize: number }).maxSize = 100
      }).toThrow(TypeError)
      const [a] = files.map((p) => cache.getOrCreate(p))
      expect(cache.maxSize).toBe(1)
      expect(cache.size).toBe(1)
      expect(a.closed).toBe(true)
      cache.clear()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
