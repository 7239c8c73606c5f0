// numpy interop, both directions, against the real numpy (installed by .ci/run).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapArray, openNpy, saveBinary, saveNpy } from '../dist/index.mjs'
import { pythonModules, tempDir, thrown } from './helpers'

const NUMPY = pythonModules(['numpy'], 'numpy interop tests')?.[0]

const dir = tempDir()
const NORMALS = process.env.MEMMAP_LONG === '1' ? 128 * 2 ** 20 : 1_000_003

function python(code: string): string {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', cwd: dir })
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`)
  return r.stdout
}

const CASES = [
  // name, numpy dtype, shape, canonical dtype
  ['f8_1d', 'float64', [7], 'float64'],
  ['f4_2d', 'float32', [3, 4], 'float32'],
  ['i1_3d', 'int8', [2, 3, 4], 'int8'],
  ['u1', 'uint8', [10], 'uint8'],
  ['i2', 'int16', [5, 2], 'int16'],
  ['u2', 'uint16', [6], 'uint16'],
  ['i4', 'int32', [4, 4], 'int32'],
  ['u4', 'uint32', [9], 'uint32'],
  ['i8', 'int64', [3, 3], 'int64'],
  ['u8', 'uint64', [4], 'uint64'],
  ['bool', 'bool', [2, 5], 'bool'],
  ['empty', 'float64', [0], 'float64'],
  ['empty2d', 'int32', [3, 0], 'int32'],
  ['scalar', 'float64', [], 'float64'],
] as const

describe.skipIf(NUMPY === undefined)(`numpy ${NUMPY} interop`, () => {
  it('.npy files written by numpy open with the right dtype, shape and values', () => {
    const out = python(`
import json, numpy as np
res = {}
for name, dt, shape in ${JSON.stringify(CASES.map(([n, d, s]) => [n, d, s]))}:
    size = int(np.prod(shape)) if shape else 1
    a = (np.arange(size) * 7 - 20).astype(dt).reshape(shape)
    if dt == 'bool':
        a = (np.arange(size) % 3 == 0).reshape(shape)
    np.save(name + '.npy', a)
    res[name] = [str(v) for v in a.ravel().tolist()]
print(json.dumps(res))
`)
    const expected = JSON.parse(out) as Record<string, string[]>
    for (const [name, , shape, dtype] of CASES) {
      using a = openNpy(join(dir, `${name}.npy`))
      expect(a.dtype, name).toBe(dtype)
      expect(a.shape, name).toEqual(shape)
      expect(a.readonly, name).toBe(true)
      const got = [...a.array].map((v) => (dtype === 'bool' ? String(v === 1 ? 'True' : 'False') : String(v)))
      const want = expected[name].map((v) => (dtype.startsWith('float') ? String(Number(v)) : v))
      expect(got, name).toEqual(want)
    }
  })

  it('a numpy v2.0 header and a big (v2) header file open', () => {
    python(`
import numpy as np
from numpy.lib import format as f
a = np.arange(12, dtype='<f8').reshape(3, 4)
with open('v2.npy', 'wb') as fh:
    f.write_array(fh, a, version=(2, 0))
`)
    const head = readFileSync(join(dir, 'v2.npy')).subarray(0, 8)
    expect([head[6], head[7]]).toEqual([2, 0])
    using a = openNpy(join(dir, 'v2.npy'))
    expect(a.shape).toEqual([3, 4])
    expect(a.get(2, 3)).toBe(11)
  })

  it('files written by saveNpy load in numpy.load(mmap_mode="r") equal to the source', () => {
    const sources: Record<string, { data: ArrayLike<number | bigint>; shape?: number[]; dtype: string }> = {
      f8: { data: Float64Array.from([1.5, -2.25, 1e300, -0]), dtype: 'float64' },
      f4: { data: Float32Array.from({ length: 12 }, (_, i) => i / 3), shape: [3, 4], dtype: 'float32' },
      i1: { data: Int8Array.from([-128, 0, 127]), dtype: 'int8' },
      u2: { data: Uint16Array.from([0, 65535]), dtype: 'uint16' },
      i4: { data: Int32Array.from({ length: 24 }, (_, i) => i - 12), shape: [2, 3, 4], dtype: 'int32' },
      i8: { data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]), dtype: 'int64' },
      u8: { data: BigUint64Array.from([2n ** 64n - 1n]), dtype: 'uint64' },
      empty: { data: new Float64Array(0), dtype: 'float64' },
    }
    for (const [name, s] of Object.entries(sources)) {
      saveNpy(join(dir, `js_${name}.npy`), s.data as never, s.shape ? { shape: s.shape } : {})
    }
    using mm = MmapArray.create(join(dir, 'mm_src.bin'), { shape: [2, 2], dtype: 'bool' })
    mm.set(0, 1, true)
    saveNpy(join(dir, 'js_bool.npy'), mm)
    const out = python(`
import json, numpy as np
res = {}
for name in ${JSON.stringify([...Object.keys(sources), 'bool'])}:
    a = np.load('js_' + name + '.npy', mmap_mode='r')
    res[name] = { 'dtype': str(a.dtype), 'shape': list(a.shape), 'values': [str(v) for v in np.asarray(a).ravel().tolist()],
                  'memmap': isinstance(a, np.memmap) or a.size == 0 }
print(json.dumps(res))
`)
    const got = JSON.parse(out)
    for (const [name, s] of Object.entries(sources)) {
      expect(got[name].dtype, name).toBe(s.dtype)
      expect(got[name].shape, name).toEqual(s.shape ?? [s.data.length])
      const big = s.dtype.endsWith('int64')
      const values = (got[name].values as string[]).map((v) => (big ? v : Number(v)))
      expect(values, name).toEqual([...(s.data as ArrayLike<number | bigint>)].map((v) => (big ? String(v) : v)))
      expect(got[name].memmap, name).toBe(true)
    }
    expect(got.bool).toMatchObject({ dtype: 'bool', shape: [2, 2], values: ['False', 'True', 'False', 'False'] })
  })

  it('saveBinary writes exactly the bytes of numpy tofile', () => {
    saveBinary(
      join(dir, 'js_f4.bin'),
      Float32Array.from({ length: 100 }, (_, i) => i * 0.25 - 5),
    )
    saveBinary(
      join(dir, 'js_i4.bin'),
      Int32Array.from({ length: 50 }, (_, i) => i * i - 100),
    )
    saveBinary(join(dir, 'js_u8.bin'), BigUint64Array.from([0n, 2n ** 64n - 1n, 12345678901234567890n]))
    python(`
import numpy as np
(np.arange(100, dtype='<f4') * np.float32(0.25) - np.float32(5)).tofile('np_f4.bin')
(np.arange(50, dtype='<i4') ** 2 - 100).tofile('np_i4.bin')
np.array([0, 2**64 - 1, 12345678901234567890], dtype='<u8').tofile('np_u8.bin')
`)
    for (const name of ['f4', 'i4', 'u8']) {
      const ours = readFileSync(join(dir, `js_${name}.bin`))
      expect(ours.length, name).toBeGreaterThan(0)
      expect(ours.equals(readFileSync(join(dir, `np_${name}.bin`))), name).toBe(true)
    }
  })

  // 128 Mi standard normals (1 GiB) with MEMMAP_LONG=1, as issue #5 asks; 1 Mi + 3 otherwise.
  it(`reductions match numpy (${NORMALS} float64 normals within 1e-12)`, () => {
    const out = python(`
import json, numpy as np
rng = np.random.default_rng(5)
a = rng.standard_normal(${NORMALS})
a.tofile('red_f8.bin')
b = rng.integers(-2**62, 2**62, 1000, dtype=np.int64)
b.tofile('red_i8.bin')
c = rng.standard_normal(100_001).astype(np.float32)
c.tofile('red_f4.bin')
print(json.dumps({ 'f8': [float(a.sum()), float(a.mean()), float(a.std()), float(a.min()), float(a.max())],
  'i8': [str(int(b.astype(object).sum())), str(int(b.min())), str(int(b.max())), float(b.mean()), float(b.std())],
  'f4': [float(c.astype(np.float64).sum()), float(c.astype(np.float64).std())] }))
`)
    const want = JSON.parse(out)
    using f8 = MmapArray.open(join(dir, 'red_f8.bin'), { mode: 'r' })
    const got = [f8.sum(), f8.mean(), f8.std(), f8.min(), f8.max()] as number[]
    got.forEach((v, i) => expect(Math.abs(v - want.f8[i]) / Math.abs(want.f8[i])).toBeLessThan(1e-12))
    using i8 = MmapArray.open(join(dir, 'red_i8.bin'), { mode: 'r', dtype: 'int64' })
    expect(String(i8.sum())).toBe(want.i8[0]) // exact, past int64 (numpy would wrap; Python ints do not)
    expect(String(i8.min())).toBe(want.i8[1])
    expect(String(i8.max())).toBe(want.i8[2])
    expect(i8.mean()).toBeCloseTo(want.i8[3], -3)
    expect(Math.abs(i8.std() - want.i8[4]) / want.i8[4]).toBeLessThan(1e-12)
    using f4 = MmapArray.open(join(dir, 'red_f4.bin'), { mode: 'r', dtype: 'float32' })
    expect(Math.abs((f4.sum() as number) - want.f4[0])).toBeLessThan(1e-9)
    expect(Math.abs(f4.std() - want.f4[1])).toBeLessThan(1e-12)
  })

  it('Fortran-order, big-endian and object arrays are ERR_MMAP_FORMAT', () => {
    python(`
import numpy as np
np.save('fortran.npy', np.asfortranarray(np.arange(6.0).reshape(2, 3)))
np.save('big.npy', np.arange(3, dtype='>f8'))
np.save('obj.npy', np.array([1, 'a'], dtype=object), allow_pickle=True)
np.save('cplx.npy', np.arange(3, dtype=np.complex128))
np.save('struct.npy', np.zeros(2, dtype=[('a', '<i4'), ('b', '<f8')]))
`)
    for (const name of ['fortran', 'big', 'obj', 'cplx', 'struct']) {
      const p = join(dir, `${name}.npy`)
      const e = thrown(() => openNpy(p))
      expect(e.code, name).toBe('ERR_MMAP_FORMAT')
      expect(e.path, name).toBe(p)
    }
  })
})
