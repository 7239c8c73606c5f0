// TypeScript twins of the examples in the pyz3 mmap guide ("Python API" and "Use Cases"),
// with the same observable results. Shared-memory examples live in shared.test.ts.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadBinary, MmapArray, MmapCache, mmapFile, saveBinary } from '../dist/index.mjs'
import { tempDir } from './helpers'

const dir = tempDir()
const at = (name: string) => join(dir, name)

/** Deterministic standard normals (Box-Muller over a fixed LCG). */
function randn(n: number, seed = 1): Float64Array {
  const out = new Float64Array(n)
  let s = seed
  const u = () => (s = (s * 48271) % 2147483647) / 2147483647
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())),
      t = 2 * Math.PI * u()
    out[i] = r * Math.cos(t)
    if (i + 1 < n) out[i + 1] = r * Math.sin(t)
  }
  return out
}

const naiveMean = (a: ArrayLike<number>) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]
  return s / a.length
}

describe('Python API', () => {
  it('create, fill, flush; reopen read-only and take the mean', () => {
    const data = randn(1_000_000)
    const path = at('data.bin')
    const arr = MmapArray.create(path, { shape: [1_000_000], dtype: 'float64' })
    arr.array.set(data) // arr[:] = np.random.randn(1000000)
    arr.flush()
    arr.close()

    const again = new MmapArray(path, { shape: [1_000_000], dtype: 'float64', mode: 'r' })
    expect(again.mean()).toBeCloseTo(naiveMean(data), 12)
    again.close()
  })

  it('fromArray saves an existing array and maps it', () => {
    const original = randn(100_000, 7)
    const mmapArr = MmapArray.fromArray(at('weights.bin'), original)
    let s = 0
    for (const v of original) s += v
    expect(mmapArr.sum()).toBeCloseTo(s, 9)
    expect(mmapArr.dtype).toBe('float64')
    mmapArr.close()
  })

  it('context manager: `using` closes at block end', () => {
    let outside: MmapArray
    {
      using arr = MmapArray.create(at('temp.bin'), { shape: [100], dtype: 'float32' })
      arr.array.set(Float32Array.from({ length: 100 }, (_, i) => i)) // arr[:] = np.arange(100)
      expect(arr.get(99)).toBe(99)
      outside = arr
    }
    expect(outside.closed).toBe(true)
  })

  it('array-like: slicing, aggregations, length, and .array with Math', () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => i / 10)
    writeFileSync(at('al.bin'), new Uint8Array(values.buffer))
    using arr = new MmapArray(at('al.bin'), { shape: [1000], dtype: 'float64' })
    const subset = arr.slice(100, 200) // arr[100:200]
    expect(subset.length).toBe(100)
    expect(subset[0]).toBe(10)
    expect(arr.sum()).toBeCloseTo(49950, 9)
    expect(arr.mean()).toBeCloseTo(49.95, 12)
    expect(arr.std()).toBeCloseTo(Math.sqrt((1000 ** 2 - 1) / 12) / 10, 12) // np.std(np.arange(1000) / 10)
    expect(arr.min()).toBe(0)
    expect(arr.max()).toBe(99.9)
    expect(arr.length).toBe(1000) // len(arr)
    const result = arr.array.map(Math.sin) // np.sin(arr.array): a new array, the map is untouched
    expect(result[10]).toBeCloseTo(Math.sin(1), 15)
    expect(arr.get(10)).toBe(1)
  })

  it('binary utilities: save, load, load with shape, skip a 128-byte header', () => {
    const weights = randn(10_000, 3)
    saveBinary(at('model_weights.bin'), weights)
    const loaded = loadBinary(at('model_weights.bin'), { dtype: 'float64' })
    expect(loaded.mean()).toBeCloseTo(naiveMean(weights), 12)
    expect(loaded.readonly).toBe(true)
    loaded.close()

    const matrix = Float32Array.from({ length: 1000 * 1000 }, (_, i) => i % 997)
    saveBinary(at('matrix.bin'), matrix)
    using loaded2d = loadBinary(at('matrix.bin'), { dtype: 'float32', shape: [1000, 1000] })
    expect(loaded2d.shape).toEqual([1000, 1000])
    expect(loaded2d.get(999, 999)).toBe((1000 * 1000 - 1) % 997)

    const header = new Uint8Array(128).fill(0xab)
    const body = Float64Array.from([1.5, 2.5, 3.5])
    writeFileSync(at('file_with_header.bin'), Buffer.concat([header, new Uint8Array(body.buffer)]))
    using data = loadBinary(at('file_with_header.bin'), { dtype: 'float64', offset: 128 })
    expect([...data.array]).toEqual([1.5, 2.5, 3.5])
  })

  it('MmapCache: a second access returns the cached object; LRU eviction; clear', () => {
    for (const name of ['c0', 'c1', 'c2']) writeFileSync(at(name), new Uint8Array(8000))
    const cache = new MmapCache({ maxSize: 2 })
    const arr1 = cache.getOrCreate(at('c0'), { shape: [1000], dtype: 'float64' })
    const arr2 = cache.getOrCreate(at('c0'), { shape: [1000], dtype: 'float64' })
    expect(arr1).toBe(arr2) // arr1 is arr2
    cache.getOrCreate(at('c1'), { shape: [1000] })
    cache.getOrCreate(at('c2'), { shape: [1000] })
    expect(cache.size).toBe(2)
    expect(arr1.closed).toBe(true) // evicted, least recently used
    cache.clear()
    expect(cache.size).toBe(0)
  })

  it('raw mmap access: read bytes, then modify in place', () => {
    writeFileSync(
      at('raw.bin'),
      Uint8Array.from({ length: 256 }, (_, i) => i),
    )
    {
      using mm = mmapFile(at('raw.bin'), { mode: 'r' })
      const header = mm.bytes.subarray(0, 4) // mm[:4]
      const chunk = mm.bytes.subarray(100, 200) // mm[100:200]
      expect([...header]).toEqual([0, 1, 2, 3])
      expect(chunk.length).toBe(100)
      expect(chunk[0]).toBe(100)
    }
    {
      using mm = mmapFile(at('raw.bin'), { mode: 'r+' })
      mm.bytes.set(new TextEncoder().encode('HELLO'), 0) // mm[0:5] = b"HELLO"
      mm.flush()
    }
    expect(readFileSync(at('raw.bin')).subarray(0, 5).toString()).toBe('HELLO')
  })
})

describe('Use cases', () => {
  it('1. large dataset in chunks: only the touched pages are read', () => {
    // 1 Gi float32 elements = 4 GiB, sparse: costs no disk and no RAM until touched.
    // One typed array over 4 GiB is Node's cap, so the "dataset" here is 1 GiB of it.
    const path = at('huge_dataset.bin')
    writeFileSync(path, '')
    truncateSync(path, 2 ** 30)
    using dataset = new MmapArray(path, { shape: [2 ** 28], dtype: 'float32', mode: 'r' })
    const rss0 = process.memoryUsage().rss
    let chunks = 0
    let total = 0
    for (let i = 0; i < dataset.length; i += 16_000_000) {
      const chunk = dataset.slice(i, i + 16_000_000)
      total += chunk[0] + chunk[chunk.length - 1] // process(chunk): touch two pages
      chunks++
    }
    expect(chunks).toBe(Math.ceil(2 ** 28 / 16_000_000))
    expect(total).toBe(0)
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 2 ** 20)
  })

  it('2. model weights: lazy load with an explicit shape', () => {
    const path = at('model.bin')
    const w = Float32Array.from({ length: 1 << 20 }, (_, i) => Math.fround(i * 1e-3))
    saveBinary(path, w)
    using weights = loadBinary(path, { dtype: 'float32', shape: [1 << 20] })
    expect(weights.get(123_456)).toBe(Math.fround(123.456))
    expect(weights.readonly).toBe(true)
  })
})
