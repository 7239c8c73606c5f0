import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapArray } from '../dist/index.mjs'
import { tempDir, thrown } from './helpers'

const dir = tempDir()
let n = 0
const path = () => join(dir, `d${n++}.bin`)

const CANONICAL = [
  ['int8', Int8Array, 1],
  ['uint8', Uint8Array, 1],
  ['int16', Int16Array, 2],
  ['uint16', Uint16Array, 2],
  ['int32', Int32Array, 4],
  ['uint32', Uint32Array, 4],
  ['int64', BigInt64Array, 8],
  ['uint64', BigUint64Array, 8],
  ['float32', Float32Array, 4],
  ['float64', Float64Array, 8],
  ['bool', Uint8Array, 1],
  // float16's view is a Float16Array where the runtime has one: __test__/half.test.ts.
  ['bfloat16', Uint16Array, 2],
] as const

describe('dtypes', () => {
  it.each(CANONICAL)('%s: itemsize, view type and canonical name', (name, ctor, itemsize) => {
    using a = MmapArray.create(path(), { shape: 4, dtype: name })
    expect(a.dtype).toBe(name)
    expect(a.itemsize).toBe(itemsize)
    expect(a.array).toBeInstanceOf(ctor)
    expect(a.byteLength).toBe(4 * itemsize)
  })

  it.each([
    ['f8', 'float64'],
    ['<f8', 'float64'],
    ['|f8', 'float64'],
    ['=f8', 'float64'],
    ['float', 'float64'],
    ['double', 'float64'],
    ['d', 'float64'],
    ['f4', 'float32'],
    ['<f4', 'float32'],
    ['single', 'float32'],
    ['f2', 'float16'],
    ['<f2', 'float16'],
    ['e', 'float16'],
    ['half', 'float16'],
    ['float16', 'float16'],
    ['bf16', 'bfloat16'],
    ['i1', 'int8'],
    ['|i1', 'int8'],
    ['b', 'int8'],
    ['u1', 'uint8'],
    ['|u1', 'uint8'],
    ['B', 'uint8'],
    ['i2', 'int16'],
    ['<i2', 'int16'],
    ['u2', 'uint16'],
    ['<u2', 'uint16'],
    ['i4', 'int32'],
    ['<i4', 'int32'],
    ['u4', 'uint32'],
    ['<u4', 'uint32'],
    ['i8', 'int64'],
    ['<i8', 'int64'],
    ['int', 'int64'],
    ['u8', 'uint64'],
    ['<u8', 'uint64'],
    ['uint', 'uint64'],
    ['?', 'bool'],
    ['|b1', 'bool'],
    ['b1', 'bool'],
  ])('numpy spelling %s is %s', (spelling, canonical) => {
    using a = MmapArray.create(path(), { shape: 1, dtype: spelling })
    expect(a.dtype).toBe(canonical)
  })

  it.each([
    [Float64Array, 'float64'],
    [Float32Array, 'float32'],
    [Int8Array, 'int8'],
    [Uint8Array, 'uint8'],
    [Uint8ClampedArray, 'uint8'],
    [Int16Array, 'int16'],
    [Uint16Array, 'uint16'],
    [Int32Array, 'int32'],
    [Uint32Array, 'uint32'],
    [BigInt64Array, 'int64'],
    [BigUint64Array, 'uint64'],
  ] as const)('constructor %o is %s', (ctor, canonical) => {
    using a = MmapArray.create(path(), { shape: 1, dtype: ctor })
    expect(a.dtype).toBe(canonical)
  })

  it.each([
    '>f8',
    '>i4',
    '!f8',
    '>f2',
    'f16',
    'Float16',
    'bfloat',
    'complex128',
    'c16',
    'O',
    '|O',
    'S10',
    'U4',
    '',
    'F8',
    'Float64',
    'float64 ',
    '<<f8',
  ])('rejects %j with ERR_MMAP_INVALID_ARG', (bad) => {
    const p = path()
    const e = thrown(() => MmapArray.create(p, { shape: 1, dtype: bad }))
    expect(e.code).toBe('ERR_MMAP_INVALID_ARG')
    expect(e.path).toBe(p)
  })

  it('rejects non-dtype values', () => {
    for (const bad of [DataView, Array, Object, 8, {}, Symbol('f8')]) {
      expect(thrown(() => MmapArray.create(path(), { shape: 1, dtype: bad as never })).code).toBe(
        'ERR_MMAP_INVALID_ARG',
      )
    }
  })

  it('64-bit integers are bigint, others numbers; bool is 0/1', () => {
    using i = MmapArray.create(path(), { shape: 2, dtype: 'int64' })
    i.set(0, -(2n ** 63n))
    i.set(1, 5)
    expect(i.get(0)).toBe(-(2n ** 63n))
    expect(i.get(1)).toBe(5n)
    using u = MmapArray.create(path(), { shape: 1, dtype: 'uint64', fill: 2n ** 64n - 1n })
    expect(u.get(0)).toBe(2n ** 64n - 1n)
    using b = MmapArray.create(path(), { shape: 3, dtype: 'bool' })
    b.set(0, true)
    b.set(1, 7)
    expect([b.get(0), b.get(1), b.get(2)]).toEqual([1, 1, 0])
    expect(thrown(() => i.set(0, 1.5)).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(thrown(() => i.set(0, 'x' as never)).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('the dtype travels as a string: another process can open with arr.dtype', () => {
    const p = path()
    writeFileSync(p, new Uint8Array(new Int16Array([1, -2, 3]).buffer))
    using a = MmapArray.open(p, { dtype: '<i2' })
    using b = MmapArray.open(p, { dtype: JSON.parse(JSON.stringify(a.dtype)) })
    expect(b.dtype).toBe('int16')
    expect([...b.array]).toEqual([1, -2, 3])
  })
})
