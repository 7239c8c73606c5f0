// The `memmap` bin, run as a user runs it.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapArray, saveNpy } from '../dist/index.mjs'
import { tempDir } from './helpers'

const CLI = resolve(__dirname, '../dist/cli.js')
const dir = tempDir()
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  return { code: r.status, out: r.stdout, err: r.stderr }
}
const json = (...args: string[]) => {
  const r = run(...args, '--json')
  expect(r.code, r.err).toBe(0)
  return JSON.parse(r.out)
}

const npy = join(dir, 'm.npy')
saveNpy(
  npy,
  Int32Array.from({ length: 12 }, (_, i) => i - 3),
  { shape: [3, 4] },
)
const raw = join(dir, 'v.f64')
writeFileSync(raw, new Uint8Array(Float64Array.from([4, 1, 9, 16, 25]).buffer))

describe('memmap CLI', () => {
  it('info: .npy header, or a raw file inferred from --dtype', () => {
    expect(json('info', npy)).toMatchObject({ format: 'npy 1.0', dtype: 'int32', shape: [3, 4], dataOffset: 128 })
    expect(json('info', raw)).toMatchObject({ format: 'raw', bytes: 40, dtype: 'float64', shape: [5] })
    expect(json('info', raw, '--dtype', 'f4')).toMatchObject({ dtype: 'float32', shape: [10] })
    expect(json('info', raw, '--dtype', 'u8', '--offset', '4')).toMatchObject({ shape: [4], remainderBytes: 4 })
    const text = run('info', npy)
    expect(text.code).toBe(0)
    expect(text.out).toMatch(/^dtype\s+int32$/m)
  })

  it('stats: count, sum, mean, std, min, max', () => {
    expect(json('stats', npy)).toEqual({
      path: npy,
      dtype: 'int32',
      count: 12,
      sum: 30,
      mean: 2.5,
      std: Math.sqrt(143 / 12),
      min: -3,
      max: 8,
    })
    const s = json('stats', raw, '--offset', '8')
    expect(s).toMatchObject({ count: 4, sum: 51, min: 1, max: 25 })
    // Closed before the temp dir is removed: Windows refuses to delete a file that is still mapped.
    using ref = MmapArray.fromArray(join(dir, 's.bin'), [1, 9, 16, 25])
    expect(s.std).toBeCloseTo(ref.std(), 12)
  })

  it('stats over many windows agrees with the whole-array reductions', () => {
    const p = join(dir, 'big.f32')
    const n = 70_000_001 // ~267 MiB: more than one 256 MiB window
    const a = MmapArray.create(p, { shape: [n], dtype: 'float32' })
    const v = a.array
    for (let i = 0; i < n; i++) v[i] = (i % 1009) - 500.25
    a.flush()
    const want = { sum: a.sum() as number, mean: a.mean(), std: a.std(), min: a.min(), max: a.max() }
    a.close()
    const got = json('stats', p, '--dtype', 'float32')
    expect(got.count).toBe(n)
    expect(got.min).toBe(want.min)
    expect(got.max).toBe(want.max)
    for (const k of ['sum', 'mean', 'std'] as const)
      expect(Math.abs(got[k] - want[k]) / Math.abs(want[k])).toBeLessThan(1e-9)
  })

  it('head: the first rows, 64-bit integers as exact strings in JSON', () => {
    expect(json('head', npy, '-n', '2').rows).toEqual([
      [-3, -2, -1, 0],
      [1, 2, 3, 4],
    ])
    expect(json('head', raw, '-n', '3').rows).toEqual([4, 1, 9])
    const big = join(dir, 'i8.npy')
    saveNpy(big, BigInt64Array.from([2n ** 62n + 1n, -1n]))
    expect(json('head', big).rows).toEqual([String(2n ** 62n + 1n), '-1'])
    expect(run('head', npy, '-n', '1').out.trim().split('\n').pop()).toBe('-3\t-2\t-1\t0')
  })

  it('errors: exit 1 with the MmapError code; usage mistakes exit 2', () => {
    const missing = run('info', join(dir, 'nope.bin'))
    expect(missing.code).toBe(1)
    expect(missing.err).toMatch(/^memmap: ENOENT: /)
    const bad = run('stats', raw, '--dtype', 'f16', '--json')
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.out).error.code).toBe('ERR_MMAP_INVALID_ARG')
    const short = run('stats', raw, '--shape', '6')
    expect(short.code).toBe(1)
    expect(short.err).toContain('ERR_MMAP_SIZE_MISMATCH')
    expect(run('frobnicate', raw).code).toBe(2)
    expect(run('info').code).toBe(2)
    expect(run('head', raw, '--shape', '2,x').code).toBe(2)
    expect(run('info', raw, '--bogus').code).toBe(2)
    expect(run('--help').code).toBe(0)
  })
})
