// The `memmap` bin, run as a user runs it.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapArray, saveNpy, saveSafetensors } from '../dist/index.mjs'
import { Mapping } from '../dist/mapping.js'
import { tempDir, WINE } from './helpers'

const CLI = resolve(__dirname, '../dist/cli.js')
const probe = WINE
  ? undefined
  : spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' })
const NUMPY = probe?.status === 0 ? probe.stdout.trim() : undefined
const dir = tempDir()
const run = (...args: string[]) => {
  let r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  // Under Wine a loaded machine has once failed to start node.exe at all (status null, no
  // output): our code never ran, so that, and only that, is tried again.
  if (WINE && r.status === null && r.signal === null && r.stdout === '' && r.stderr === '') {
    r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  }
  if (r.status === null) {
    throw new Error(`memmap ${args.join(' ')}: no exit code (signal ${r.signal}, ${r.error}); stderr: ${r.stderr}`)
  }
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

  it('stats of a file larger than one 64 MiB segment are the whole-array reductions, to the bit', () => {
    const p = join(dir, 'big.f32')
    const n = 70_000_001 // ~267 MiB: several segments of the native pass
    const a = MmapArray.create(p, { shape: [n], dtype: 'float32' })
    const v = a.array
    for (let i = 0; i < n; i++) v[i] = (i % 1009) - 500.25
    a.flush()
    const want = { count: n, sum: a.sum(), mean: a.mean(), std: a.std(), min: a.min(), max: a.max() }
    a.close()
    expect(json('stats', p, '--dtype', 'float32')).toEqual({ path: p, dtype: 'float32', ...want })
  })

  it('stats: NaN propagates (null in JSON, NaN in text), as numpy does', () => {
    const p = join(dir, 'nan.f64')
    writeFileSync(p, new Uint8Array(Float64Array.from([1, NaN, 3]).buffer))
    expect(json('stats', p)).toEqual({
      path: p,
      dtype: 'float64',
      count: 3,
      sum: null,
      mean: null,
      std: null,
      min: null,
      max: null,
    })
    const text = run('stats', p)
    expect(text.code).toBe(0)
    for (const k of ['sum', 'mean', 'std', 'min', 'max']) expect(text.out).toMatch(new RegExp(`^${k}\\s+NaN$`, 'm'))
    // A NaN past the first segment of a large float32 file.
    const big = join(dir, 'nan.f32')
    const f = new Float32Array(20_000_000).fill(1.5)
    f[19_999_990] = NaN
    writeFileSync(big, new Uint8Array(f.buffer))
    expect(json('stats', big, '--dtype', 'float32')).toMatchObject({
      count: 20_000_000,
      sum: null,
      min: null,
      max: null,
    })
  })

  it('stats of empty arrays: count 0, sum 0, the rest null (NaN or no value)', () => {
    const empty = join(dir, 'empty.npy')
    saveNpy(empty, new Float64Array(0))
    const none = { count: 0, sum: 0, mean: null, std: null, min: null, max: null }
    expect(json('stats', empty)).toEqual({ path: empty, dtype: 'float64', ...none })
    const i8 = join(dir, 'empty-i8.npy')
    saveNpy(i8, new BigInt64Array(0), { shape: [3, 0] })
    expect(json('stats', i8)).toEqual({ path: i8, dtype: 'int64', ...none, sum: '0' })
    const raw0 = join(dir, 'empty.bin')
    writeFileSync(raw0, new Uint8Array(0))
    expect(json('stats', raw0, '--dtype', 'u2')).toEqual({ path: raw0, dtype: 'uint16', ...none })
    expect(run('stats', empty).out).toMatch(/^min\s+null$/m)
  })

  it('stats of 64-bit integers: exact decimal strings, the sum past 2^64 included', () => {
    const i8 = join(dir, 'big-i8.npy')
    saveNpy(i8, BigInt64Array.from([2n ** 62n + 1n, 2n ** 62n, -1n, 2n ** 62n - 7n]))
    expect(json('stats', i8)).toMatchObject({
      dtype: 'int64',
      count: 4,
      sum: String(3n * 2n ** 62n - 7n),
      min: '-1',
      max: String(2n ** 62n + 1n),
    })
    const u8 = join(dir, 'big.u8')
    const max = 2n ** 64n - 1n
    writeFileSync(u8, new Uint8Array(BigUint64Array.from([max, max, 5n]).buffer))
    const s = json('stats', u8, '--dtype', 'uint64')
    expect(s).toMatchObject({ count: 3, sum: String(2n * max + 5n), min: '5', max: String(max) })
    expect(s.mean).toBe(Number(2n * max + 5n) / 3)
    expect(run('stats', u8, '--dtype', 'uint64').out).toMatch(new RegExp(`^sum\\s+${2n * max + 5n}$`, 'm'))
  })

  it.skipIf(NUMPY === undefined)('stats of raw and .npy files agree with numpy', () => {
    const cases = [
      // numpy dtype, our dtype, expression over `rng`
      ['float64', 'float64', 'rng.standard_normal(3_000_001) * 1e3 + 7'],
      ['float32', 'float32', 'rng.standard_normal(2_000_003).astype(np.float32)'],
      ['int64', 'int64', 'rng.integers(-2**62, 2**62, 100_001, dtype=np.int64)'],
      ['uint64', 'uint64', 'rng.integers(2**63, 2**64 - 1, 5_001, dtype=np.uint64)'],
      ['int8', 'int8', 'rng.integers(-128, 128, 1_000_000, dtype=np.int8)'],
      ['uint16', 'uint16', 'rng.integers(0, 2**16, 777, dtype=np.uint16)'],
      ['bool', 'bool', 'rng.integers(0, 2, 12_345).astype(np.bool_)'],
    ] as const
    const script = `
import json, numpy as np
rng = np.random.default_rng(12)
out = {}
for name, expr in ${JSON.stringify(cases.map(([t, , e]) => [t, e]))}:
    a = eval(expr)
    np.save(name + '.npy', a.reshape(-1, 1) if name == 'int8' else a)
    a.tofile(name + '.raw')
    exact = a.dtype.kind in 'iub'
    f = np.float64
    out[name] = dict(
        count=int(a.size),
        sum=str(int(a.astype(object).sum())) if exact else float(a.sum(dtype=f)),
        mean=float(a.mean(dtype=f)), std=float(a.std(dtype=f)),
        min=str(int(a.min())) if exact else float(a.min()), max=str(int(a.max())) if exact else float(a.max()))
print(json.dumps(out))
`
    const r = spawnSync('python3', ['-c', script], { encoding: 'utf8', cwd: dir })
    expect(r.status, r.stderr).toBe(0)
    const want = JSON.parse(r.stdout)
    for (const [name, dtype] of cases) {
      const w = want[name]
      for (const got of [
        json('stats', join(dir, `${name}.npy`)),
        json('stats', join(dir, `${name}.raw`), '--dtype', dtype),
      ]) {
        expect(got.dtype, name).toBe(dtype)
        expect(got.count, name).toBe(w.count)
        const big = dtype === 'int64' || dtype === 'uint64'
        if (typeof w.sum === 'string') {
          // Integers: exact; 64-bit ones as strings, smaller ones as numbers.
          for (const k of ['sum', 'min', 'max']) expect(String(got[k]), `${name} ${k}`).toBe(w[k])
          expect(typeof got.sum, name).toBe(big ? 'string' : 'number')
        } else {
          expect(got.min, name).toBe(w.min)
          expect(got.max, name).toBe(w.max)
          expect(Math.abs(got.sum - w.sum), name).toBeLessThanOrEqual(1e-12 * Math.abs(w.sum) * Math.sqrt(w.count))
        }
        for (const k of ['mean', 'std'])
          expect(Math.abs(got[k] - w[k]), `${name} ${k}`).toBeLessThanOrEqual(
            1e-12 * Math.max(Math.abs(w[k]), 1e-300) + 1e-15,
          )
      }
    }
  })

  it('native stats: off the main thread, progress increasing to the byte length before it resolves', async () => {
    const p = join(dir, 'progress.f64')
    const n = 20_000_000 // 160 MiB: three segments
    writeFileSync(p, new Uint8Array(Float64Array.from({ length: n }, (_, i) => (i % 17) - 8).buffer))
    const map = Mapping.open(p, 'r', 0)
    const seen: number[] = []
    let settled = false
    let late = 0
    const pending = map.stats('float64', (bytes) => {
      if (settled) late++
      seen.push(bytes)
    })
    // The pass runs on the thread pool, so this thread is free meanwhile (the reports arrive
    // while it is pending), and close() does not pull the memory from under it.
    map.close()
    const s = await pending
    settled = true
    await new Promise((r) => setTimeout(r, 50)) // a native report arriving now is dropped
    expect(late).toBe(0)
    // Reports cross threads on their own queue: under load some arrive after the result and are
    // dropped, so only the last one (the whole length, reported before resolving) is certain.
    expect(seen.length).toBeGreaterThanOrEqual(1)
    const SEGMENT = 64 * 2 ** 20
    expect(seen.every((b, i) => b > (seen[i - 1] ?? 0) && (b % SEGMENT === 0 || b === n * 8))).toBe(true)
    expect(seen.at(-1)).toBe(n * 8)
    using ref = MmapArray.open(p, { mode: 'r' })
    expect(s).toEqual({ count: n, sum: ref.sum(), mean: ref.mean(), std: ref.std(), min: -8, max: 8 })
    // A mapping smaller than one segment reports once, at the end; one without a callback is fine.
    const small = Mapping.open(p, 'r', 0, 800)
    const once: number[] = []
    expect((await small.stats('int16', (b) => once.push(b))).count).toBe(400)
    expect(once).toEqual([800])
    expect((await small.stats('uint64')).count).toBe(100)
    small.close()
    // The internal Mapping leaves the closed check to the public classes (js/lifecycle.ts): past
    // them, the binding's own check is an invariant, and breaking it is ERR_MMAP_INTERNAL.
    await expect(small.stats('float64')).rejects.toMatchObject({ code: 'ERR_MMAP_INTERNAL' })
    const odd = Mapping.open(p, 'r', 0, 6)
    await expect(odd.stats('float32')).rejects.toMatchObject({ code: 'ERR_MMAP_SIZE_MISMATCH' })
    odd.close()
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

  it('float16 and bfloat16: --dtype takes them, head prints values (not bits), stats reduces natively', () => {
    const f2 = join(dir, 'h.npy')
    using h = MmapArray.fromArray(join(dir, 'h.bin'), [0.5, -0, 65504, 0.1, -2, 3], { dtype: 'float16', shape: [2, 3] })
    saveNpy(f2, h)
    expect(json('info', f2)).toMatchObject({ dtype: 'float16', shape: [2, 3] })
    expect(json('head', f2).rows).toEqual([
      [0.5, 0, 65504], // JSON has no -0
      [0.0999755859375, -2, 3],
    ])
    expect(json('stats', f2)).toMatchObject({ dtype: 'float16', count: 6, min: -2, max: 65504 })
    const bf = join(dir, 'b.raw')
    MmapArray.fromArray(bf, [1.5, -7, 0.1, 2 ** 100], { dtype: 'bfloat16' }).close()
    expect(json('info', bf, '--dtype', 'bf16')).toMatchObject({ dtype: 'bfloat16', shape: [4] })
    expect(json('head', bf, '--dtype', 'bfloat16').rows).toEqual([1.5, -7, 0.10009765625, 2 ** 100])
    expect(json('stats', bf, '--dtype', 'bfloat16')).toMatchObject({ count: 4, min: -7, sum: 2 ** 100 })
    expect(run('head', bf, '--dtype', 'bfloat16', '-n', '1').out.trim().split('\n').pop()).toBe('1.5')
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

describe('memmap CLI on safetensors', () => {
  const st = join(dir, 'model.safetensors')
  saveSafetensors(
    st,
    { emb: { dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, ids: Int32Array.from([-3, 9]) },
    { metadata: { format: 'pt' } },
  )

  it('info lists every tensor with totals, as text and --json', () => {
    const j = json('info', st)
    expect(j).toMatchObject({ format: 'safetensors', count: 2, elements: 8, dataBytes: 32, metadata: { format: 'pt' } })
    expect(
      j.tensors.map((t: { name: string; dtype: string; shape: number[]; byteLength: number }) => [
        t.name,
        t.dtype,
        t.shape,
        t.byteLength,
      ]),
    ).toEqual([
      ['emb', 'float32', [2, 3], 24],
      ['ids', 'int32', [2], 8],
    ])
    const text = run('info', st)
    expect(text.code).toBe(0)
    expect(text.out).toMatch(/^emb\s+float32\s+\[2, 3\]\s+24$/m)
    expect(text.out).toMatch(/^total: 2 tensors, 8 elements, 32 bytes of data/m)
  })

  it('stats --tensor reduces one tensor; a missing or unknown tensor fails', () => {
    expect(json('stats', st, '--tensor', 'emb')).toMatchObject({
      tensor: 'emb',
      dtype: 'float32',
      count: 6,
      sum: 21,
      min: 1,
      max: 6,
    })
    expect(json('stats', st, '--tensor', 'ids')).toMatchObject({ dtype: 'int32', sum: 6, min: -3, max: 9 })
    expect(json('head', st, '--tensor', 'emb').rows).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ])
    expect(run('stats', st).code).toBe(2)
    const unknown = run('stats', st, '--tensor', 'nope')
    expect(unknown.code).toBe(1)
    expect(unknown.err).toContain('ERR_MMAP_INVALID_ARG')
    const broken = join(dir, 'broken.safetensors')
    writeFileSync(broken, Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7b]))
    const bad = run('info', broken)
    expect(bad.code).toBe(1)
    expect(bad.err).toContain('ERR_MMAP_FORMAT')
  })
})
