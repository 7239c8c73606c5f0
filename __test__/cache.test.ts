import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapCache } from '../dist/index.mjs'
import { NOT_ON_WINDOWS, posixTest, tempDir, thrown, WINDOWS } from './helpers'

const dir = tempDir()
const files = Array.from({ length: 5 }, (_, i) => {
  const p = join(dir, `c${i}.bin`)
  writeFileSync(p, new Uint8Array(new Float64Array([i, i + 1, i + 2, i + 3]).buffer))
  return p
})

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

  it('keys by real path, dtype, shape, mode and offset', () => {
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
})
