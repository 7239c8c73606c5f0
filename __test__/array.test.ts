import { statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

import { describe, expect, it } from 'vitest'

import { MappedArray, MmapArray, MmapError } from '../dist/index.mjs'
import { fileAs, fixture, mappingsOf, NOT_ON_WINDOWS, posixCheck, posixTest, tempDir, thrown, WINDOWS } from './helpers'

const dir = tempDir()
let n = 0
const path = (name = 'a') => join(dir, `${name}${n++}.bin`)
const f64file = (values: number[]) => {
  const p = path('f')
  writeFileSync(p, new Uint8Array(new Float64Array(values).buffer))
  return p
}

describe('MmapArray.create', () => {
  it('makes a zero-filled file of exactly prod(shape) * itemsize bytes, mapped read-write', () => {
    const p = path()
    using a = MmapArray.create(p, { shape: [3, 5], dtype: 'int32' })
    expect(statSync(p).size).toBe(60)
    expect(a.mode).toBe('r+')
    expect(a.readonly).toBe(false)
    expect([...a.array]).toEqual(Array.from({ length: 15 }, () => 0))
    a.set(2, 4, 99)
    a.flush()
    expect(fileAs(Int32Array, p)[14]).toBe(99)
  })

  it('dtype defaults to float64; a number shape is 1-D', () => {
    using a = MmapArray.create(path(), { shape: 7 })
    expect(a.dtype).toBe('float64')
    expect(a.shape).toEqual([7])
    expect(a.ndim).toBe(1)
  })

  it('fill sets every element', () => {
    using a = MmapArray.create(path(), { shape: [2, 2], dtype: 'float32', fill: 2.5 })
    expect([...a.array]).toEqual([2.5, 2.5, 2.5, 2.5])
    using b = MmapArray.create(path(), { shape: 3, dtype: 'uint64', fill: 7n })
    expect([...b.array]).toEqual([7n, 7n, 7n])
  })

  it('refuses an existing file with EEXIST unless overwrite: true, and never truncates it', () => {
    const p = f64file([1, 2, 3])
    const e = thrown(() => MmapArray.create(p, { shape: 10 }))
    expect(e).toBeInstanceOf(MmapError)
    expect(e).toMatchObject({ code: 'EEXIST', path: p })
    expect(statSync(p).size).toBe(24)
    using a = MmapArray.create(p, { shape: 10, overwrite: true })
    expect(statSync(p).size).toBe(80)
    expect(a.get(0)).toBe(0)
  })

  it.skipIf(WINDOWS)(posixTest('never writes through a symlink planted at the path', NOT_ON_WINDOWS.symlinks), () => {
    const target = f64file([42])
    const link = path('link')
    symlinkSync(target, link)
    expect(thrown(() => MmapArray.create(link, { shape: 1 })).code).toBe('EEXIST')
    expect(fileAs(Float64Array, target)[0]).toBe(42)
  })

  it('shape [0] is a valid empty array', () => {
    const p = path()
    using a = MmapArray.create(p, { shape: [0] })
    expect(statSync(p).size).toBe(0)
    expect(a.size).toBe(0)
    expect(a.length).toBe(0)
    expect(a.array.length).toBe(0)
    expect(a.slice().length).toBe(0)
  })

  it.each([
    [{ shape: -1 }],
    [{ shape: 1.5 }],
    [{ shape: [2, -3] }],
    [{ shape: [NaN] }],
    [{ shape: ['3'] }],
    [{ shape: '3' }],
    [{ shape: [2 ** 53] }],
    [{ shape: [2 ** 40, 2 ** 40] }],
    [{}],
    [{ shape: 3, overwrite: 'yes' }],
    [{ shape: 3, fill: 'x' }],
  ])('bad options %j are ERR_MMAP_INVALID_ARG', (opts) => {
    const p = path()
    const e = thrown(() => MmapArray.create(p, opts as never))
    expect(e.code).toBe('ERR_MMAP_INVALID_ARG')
    expect(e.path).toBe(p)
  })
})

describe('MmapArray.open and the constructor', () => {
  it('infers a 1-D shape from the file size', () => {
    const p = f64file([1, 2, 3, 4])
    using a = MmapArray.open(p)
    expect(a.shape).toEqual([4])
    expect(a.mode).toBe('r+')
    using b = new MmapArray(p, { mode: 'r' })
    expect(b.shape).toEqual([4])
    expect(b.get(3)).toBe(4)
  })

  it('a remainder after inference is ERR_MMAP_SIZE_MISMATCH', () => {
    const p = path()
    writeFileSync(p, new Uint8Array(20))
    expect(thrown(() => MmapArray.open(p))).toMatchObject({ code: 'ERR_MMAP_SIZE_MISMATCH', path: p })
    if (posixCheck(NOT_ON_WINDOWS.proc)) expect(mappingsOf(resolve(p))).toBe(0)
  })

  it('a file shorter than offset + shape is ERR_MMAP_SIZE_MISMATCH, never a bus error', () => {
    const p = f64file([1, 2, 3])
    expect(thrown(() => MmapArray.open(p, { shape: 4 }))).toMatchObject({ code: 'ERR_MMAP_SIZE_MISMATCH', path: p })
    expect(thrown(() => MmapArray.open(p, { shape: 3, offset: 8 }))).toMatchObject({ code: 'ERR_MMAP_SIZE_MISMATCH' })
    expect(thrown(() => MmapArray.open(p, { offset: 32 }))).toMatchObject({ code: 'ERR_MMAP_SIZE_MISMATCH' })
    using ok = MmapArray.open(p, { shape: 2, offset: 8 })
    expect([...ok.array]).toEqual([2, 3])
  })

  it('offset must be a multiple of the itemsize: ERR_MMAP_ALIGNMENT', () => {
    const p = f64file([1, 2, 3])
    expect(thrown(() => MmapArray.open(p, { offset: 4 }))).toMatchObject({ code: 'ERR_MMAP_ALIGNMENT', path: p })
    using a = MmapArray.open(p, { offset: 4, dtype: 'int32' })
    expect(a.size).toBe(5)
  })

  it("mode 'r+' writes reach the file; 'c' writes stay in this process", () => {
    const p = f64file([1, 2])
    using rw = MmapArray.open(p, { mode: 'r+' })
    using cow = MmapArray.open(p, { mode: 'c' })
    rw.set(0, 10)
    expect(cow.get(0)).toBe(10)
    cow.set(1, 20)
    cow.flush()
    expect(rw.get(1)).toBe(2)
    rw.flush()
    expect([...fileAs(Float64Array, p)]).toEqual([10, 2])
  })

  it('bad mode, offset, path: ERR_MMAP_INVALID_ARG; missing file: ENOENT', () => {
    const p = f64file([1])
    for (const o of [{ mode: 'w+' }, { mode: 'rw' }, { offset: -8 }, { offset: 0.5 }, { shape: [-1] }]) {
      expect(thrown(() => MmapArray.open(p, o as never)).code).toBe('ERR_MMAP_INVALID_ARG')
    }
    expect(thrown(() => MmapArray.open(123 as never)).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(thrown(() => MmapArray.open(join(dir, 'nope.bin')))).toMatchObject({ code: 'ENOENT', syscall: 'open' })
    expect(thrown(() => MmapArray.open(dir))).toMatchObject({ code: 'EISDIR' })
  })

  it('accepts a file: URL and reports an absolute path', () => {
    const p = f64file([5])
    using a = MmapArray.open(pathToFileURL(p))
    expect(a.path).toBe(p)
  })
})

describe('members', () => {
  it('report shape, sizes and info()', () => {
    const p = path()
    using a = MmapArray.create(p, { shape: [4, 3, 2], dtype: 'int16' })
    expect(a.shape).toEqual([4, 3, 2])
    expect(Object.isFrozen(a.shape)).toBe(true)
    expect([a.ndim, a.size, a.length, a.itemsize, a.byteLength]).toEqual([3, 24, 4, 2, 48])
    expect(a.info()).toEqual({ path: p, shape: [4, 3, 2], dtype: 'int16', byteLength: 48, readonly: false })
  })

  it('get/set take one index per dimension, negative from the end', () => {
    using a = MmapArray.create(path(), { shape: [2, 3] })
    for (let i = 0; i < 6; i++) a.array[i] = i
    expect(a.get(0, 0)).toBe(0)
    expect(a.get(1, 2)).toBe(5)
    expect(a.get(-1, -1)).toBe(5)
    expect(a.get(-2, 1)).toBe(1)
    a.set(1, 0, 30)
    a.set(-1, -2, 40)
    expect([...a.array]).toEqual([0, 1, 2, 30, 40, 5])
  })

  it('bad indices are ERR_MMAP_INVALID_ARG', () => {
    using a = MmapArray.create(path(), { shape: [2, 3] })
    for (const idx of [[2, 0], [0, 3], [-3, 0], [0, -4], [0], [0, 0, 0], [0.5, 0], [NaN, 0], ['0', 0]]) {
      expect(thrown(() => a.get(...(idx as number[]))).code, JSON.stringify(idx)).toBe('ERR_MMAP_INVALID_ARG')
      expect(thrown(() => a.set(...(idx as number[]), 1)).code, JSON.stringify(idx)).toBe('ERR_MMAP_INVALID_ARG')
    }
    expect(thrown(() => a.set()).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('slice(start, end) is rows along axis 0, zero-copy, with Array.slice rules', () => {
    using a = MmapArray.create(path(), { shape: [4, 2], dtype: 'int32' })
    a.array.set([0, 1, 10, 11, 20, 21, 30, 31])
    const rows = a.slice(1, 3)
    expect([...rows]).toEqual([10, 11, 20, 21])
    rows[0] = 99
    expect(a.get(1, 0)).toBe(99) // a view, not a copy
    expect(rows.buffer).toBe(a.array.buffer)
    expect(Array.from(a.slice(-1))).toEqual([30, 31])
    expect(a.slice().length).toBe(8)
    expect(a.slice(3, 1).length).toBe(0)
    expect(a.slice(10).length).toBe(0)
    expect(thrown(() => a.slice(0.5)).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('fill returns this', () => {
    using a = MmapArray.create(path(), { shape: 3, dtype: 'int8' })
    expect(a.fill(-3)).toBe(a)
    expect([...a.array]).toEqual([-3, -3, -3])
  })

  it('flushAsync resolves after the data is in the file', async () => {
    const p = path()
    using a = MmapArray.create(p, { shape: 2 })
    a.set(1, 6.5)
    await a.flushAsync()
    expect(fileAs(Float64Array, p)[1]).toBe(6.5)
  })

  it('advise takes the five hints and rejects others', () => {
    using a = MmapArray.create(path(), { shape: 1024 })
    for (const h of ['normal', 'sequential', 'random', 'willneed', 'dontneed'] as const) a.advise(h)
    expect(thrown(() => a.advise('soon' as never)).code).toBe('ERR_MMAP_INVALID_ARG')
  })
})

describe('reductions (numpy semantics)', () => {
  it('float64: sum, mean, population std, min, max', () => {
    using a = MmapArray.fromArray(path(), [2, 4, 4, 4, 5, 5, 7, 9])
    expect(a.sum()).toBe(40)
    expect(a.mean()).toBe(5)
    expect(a.std()).toBe(2)
    expect(a.min()).toBe(2)
    expect(a.max()).toBe(9)
  })

  it('64-bit integers: sum, min, max are bigint and exact; mean and std are numbers', () => {
    using a = MmapArray.fromArray(path(), new BigInt64Array([2n ** 62n, 2n ** 62n, -5n]))
    expect(a.sum()).toBe(2n ** 63n - 5n) // past int64: no silent wrap
    expect(a.min()).toBe(-5n)
    expect(a.max()).toBe(2n ** 62n)
    expect(typeof a.mean()).toBe('number')
    using u = MmapArray.fromArray(path(), new BigUint64Array([1n, 2n, 3n, 4n]))
    expect(u.sum()).toBe(10n)
    expect(u.mean()).toBe(2.5)
    expect(u.std()).toBeCloseTo(Math.sqrt(1.25), 15)
  })

  it('smaller integers sum exactly as numbers', () => {
    using a = MmapArray.fromArray(path(), new Uint32Array(3000).fill(2 ** 32 - 1))
    expect(a.sum()).toBe(3000 * (2 ** 32 - 1))
    using b = MmapArray.fromArray(path(), new Int8Array([-128, 127, 1]))
    expect([b.sum(), b.min(), b.max()]).toEqual([0, -128, 127])
  })

  it('empty arrays follow numpy: sum 0, mean/std NaN, min/max throw', () => {
    using a = MmapArray.create(path(), { shape: [0] })
    expect(a.sum()).toBe(0)
    expect(a.mean()).toBeNaN()
    expect(a.std()).toBeNaN()
    expect(thrown(() => a.min()).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(thrown(() => a.max()).code).toBe('ERR_MMAP_INVALID_ARG')
    using b = MmapArray.create(path(), { shape: [0], dtype: 'int64' })
    expect(b.sum()).toBe(0n)
  })

  it('NaN propagates through min and max', () => {
    using a = MmapArray.fromArray(path(), [1, NaN, -1])
    expect(a.min()).toBeNaN()
    expect(a.max()).toBeNaN()
  })

  it('pairwise summation keeps a long float sum accurate', () => {
    const N = 1_000_003
    using a = MmapArray.create(path(), { shape: N, fill: 0.1 })
    expect(Math.abs((a.sum() as number) - N * 0.1)).toBeLessThan(1e-6)
    expect(a.std()).toBeLessThan(1e-12)
  })
})

describe('fromArray', () => {
  it('typed arrays keep their dtype; plain arrays are float64; nested arrays give the shape', () => {
    using a = MmapArray.fromArray(path(), new Int16Array([1, 2, 3]))
    expect([a.dtype, ...a.shape]).toEqual(['int16', 3])
    using b = MmapArray.fromArray(path(), [1, 2, 3])
    expect(b.dtype).toBe('float64')
    using c = MmapArray.fromArray(path(), [
      [1, 2, 3],
      [4, 5, 6],
    ])
    expect(c.shape).toEqual([2, 3])
    expect(c.get(1, 2)).toBe(6)
    using d = MmapArray.fromArray(path(), [true, false])
    expect(d.dtype).toBe('bool')
    expect(thrown(() => MmapArray.fromArray(path(), [[1, 2], [3]])).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('converts to a requested dtype and shape', () => {
    using a = MmapArray.fromArray(path(), [1, 2, 3, 4, 5, 6], { dtype: 'int64', shape: [3, 2] })
    expect(a.get(2, 1)).toBe(6n)
    using b = MmapArray.fromArray(path(), new BigInt64Array([5n]), { dtype: 'float32' })
    expect(b.get(0)).toBe(5)
    expect(thrown(() => MmapArray.fromArray(path(), [1, 2, 3], { shape: [2, 2] })).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('copies another MmapArray with its dtype and shape; the data is flushed', () => {
    using src = MmapArray.create(path(), { shape: [2, 2], dtype: 'uint16', fill: 9 })
    const p = path()
    using copy = MmapArray.fromArray(p, src)
    expect([copy.dtype, ...copy.shape]).toEqual(['uint16', 2, 2])
    expect([...fileAs(Uint16Array, p)]).toEqual([9, 9, 9, 9])
    expect(copy.mode).toBe('r+')
  })

  it('refuses an existing file unless overwrite', () => {
    const p = f64file([1])
    expect(thrown(() => MmapArray.fromArray(p, [1, 2])).code).toBe('EEXIST')
    using a = MmapArray.fromArray(p, [1, 2], { overwrite: true })
    expect(a.size).toBe(2)
    expect(thrown(() => MmapArray.fromArray(path(), 'abc' as never)).code).toBe('ERR_MMAP_INVALID_ARG')
  })
})

describe("read-only ('r')", () => {
  it('set, fill and flush throw ERR_MMAP_READONLY; the file is untouched', async () => {
    const p = f64file([1, 2, 3])
    using a = MmapArray.open(p, { mode: 'r' })
    expect(a.readonly).toBe(true)
    expect(thrown(() => a.set(0, 5))).toMatchObject({ code: 'ERR_MMAP_READONLY', path: p })
    expect(thrown(() => a.fill(5)).code).toBe('ERR_MMAP_READONLY')
    expect(thrown(() => a.flush()).code).toBe('ERR_MMAP_READONLY')
    await expect(a.flushAsync()).rejects.toMatchObject({ code: 'ERR_MMAP_READONLY' })
    expect([...fileAs(Float64Array, p)]).toEqual([1, 2, 3])
  })

  it('a write straight into .array never crashes and never reaches the file', () => {
    const p = f64file([1, 2, 3])
    expect(fixture('array', 'readOnlyWrites', [p])).toBe('done')
    expect([...fileAs(Float64Array, p)]).toEqual([1, 2, 3])
  })
})

describe('close()', () => {
  it('every data member throws ERR_MMAP_CLOSED; metadata stays readable', async () => {
    const p = path()
    const a = MmapArray.create(p, { shape: [2, 2] })
    a.close()
    expect(a.closed).toBe(true)
    const calls: [string, () => unknown][] = [
      ['array', () => a.array],
      ['get', () => a.get(0, 0)],
      ['set', () => a.set(0, 0, 1)],
      ['slice', () => a.slice()],
      ['fill', () => a.fill(1)],
      ['sum', () => a.sum()],
      ['mean', () => a.mean()],
      ['std', () => a.std()],
      ['min', () => a.min()],
      ['max', () => a.max()],
      ['flush', () => a.flush()],
      ['advise', () => a.advise('normal')],
    ]
    for (const [name, call] of calls) {
      const e = thrown(call)
      expect(e, name).toBeInstanceOf(MmapError)
      expect(e.code, name).toBe('ERR_MMAP_CLOSED')
      expect(e.path, name).toBe(p)
    }
    await expect(a.flushAsync()).rejects.toMatchObject({ code: 'ERR_MMAP_CLOSED' })
    expect(a.shape).toEqual([2, 2])
    expect(a.info().byteLength).toBe(32)
    a.close()
    a[Symbol.dispose]()
  })

  it('views handed out earlier drop to length 0 and the process survives using them', () => {
    const p = path()
    expect(fixture('array', 'viewsAfterClose', [p])).toEqual([0, 0, 'undefined', 'undefined'])
  })

  it('using closes at the end of the block', () => {
    let escaped: MmapArray | undefined
    {
      using a = MmapArray.create(path(), { shape: 3 })
      escaped = a
      expect(a.closed).toBe(false)
    }
    expect(escaped.closed).toBe(true)
  })
})

describe('large arrays', () => {
  it('a sparse 6 GiB float32 file: a window past 4 GiB reads and writes its last elements', () => {
    const p = path('big')
    const total = 6 * 2 ** 30
    writeFileSync(p, '')
    require('node:fs').truncateSync(p, total)
    using tail = MmapArray.open(p, { dtype: 'float32', offset: total - 1024 * 4 })
    expect(tail.shape).toEqual([1024])
    tail.set(-1, 3.5)
    tail.flush()
    using again = MmapArray.open(p, { dtype: 'float32', shape: 1, offset: total - 4, mode: 'r' })
    expect(again.get(0)).toBe(3.5)
  })
})

describe('constructors (issue #11, item 9)', () => {
  it('MappedArray constructed directly is MmapError ERR_MMAP_INVALID_ARG, never a half-built array', () => {
    const p = f64file([1, 2, 3, 4])
    const lookalike = { map: { buffer: new ArrayBuffer(32), byteLength: 32, mode: 'r+', path: p }, shape: [4] }
    const Ctor = MappedArray as unknown as new (...args: unknown[]) => MappedArray
    for (const args of [[], [undefined], [null], [{}], [p], [p, { shape: [4] }], [lookalike]]) {
      const e = thrown(() => new Ctor(...args))
      expect(e, String(args[0])).toBeInstanceOf(MmapError)
      expect(e.code, String(args[0])).toBe('ERR_MMAP_INVALID_ARG')
    }
    using a = new MmapArray(p, { mode: 'r' })
    expect(a).toBeInstanceOf(MappedArray)
    expect(a.sum()).toBe(10)
  })
})

// Read-only members are read-only at run time: whatever changes a member under the native code
// runs in a child process (fixtures/array.mjs), so a crash fails the test instead of the runner.
const ARRAY_MEMBERS = ['path', 'shape', 'dtype', 'mode', 'ndim', 'size', 'itemsize', 'byteLength']

describe('read-only members (issue #11, item 10)', () => {
  it('arrays: assigning path, shape, dtype, mode, ndim, size, itemsize or byteLength changes nothing (MmapArray, SharedMemoryArray, createSharedBuffer)', () => {
    const result = fixture('array', 'assignedMembers', [dir])
    const every = (v: unknown) => Object.fromEntries(ARRAY_MEMBERS.map((k) => [k, v]))
    for (const kind of ['MmapArray', 'SharedMemoryArray', 'createSharedBuffer']) {
      expect(result[kind], kind).toEqual({ strict: every('TypeError'), unchanged: every(true), shadowed: 'same' })
    }
  })

  it("an 'r' array stays read-only when its mode is assigned, and an 'r+' one stays writable", () => {
    expect(fixture('array', 'assignedMode', [dir])).toEqual({
      strict: 'TypeError',
      r: ['r', true, true, 'ERR_MMAP_READONLY', 'ERR_MMAP_READONLY', 'ERR_MMAP_READONLY'],
      w: ['ok', 'ok', 'ok'],
      file: [5, 6, 3, 4],
    })
  })

  it('assigning dtype does not change what the reductions compute (an int8 array at an odd offset)', () => {
    expect(fixture('array', 'assignedDtype', [dir])).toEqual({
      strict: 'TypeError',
      dtype: 'int8',
      itemsize: 1,
      sum: 36,
      min: 1,
      max: 8,
      mean: 4.5,
      get: 8,
    })
  })

  it('the shape handed out is frozen: writing into it or assigning a new one changes nothing', () => {
    expect(fixture('array', 'frozenShape', [dir])).toEqual({
      frozen: true,
      same: true,
      write: 'TypeError',
      push: 'TypeError',
      assign: 'TypeError',
      shape: [4],
      'get(999)': 'ERR_MMAP_INVALID_ARG',
      'get(3)': 4,
      infoCopy: 4,
      length: 4,
    })
  })
})
