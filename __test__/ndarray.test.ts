// scijs ndarray interop: MmapArray hands its flat typed array and shape to `ndarray`, which
// views them zero-copy with strides; ndarray-ops then works on the mapped memory itself.
import { join } from 'node:path'

import ndarray from 'ndarray'
import ops from 'ndarray-ops'
import { expect, it } from 'vitest'

import { MmapArray } from '../dist/index.mjs'
import { tempDir } from './helpers'

const dir = tempDir()

it('ndarray(arr.array, arr.shape) is a zero-copy strided view of the mapping', () => {
  using arr = MmapArray.create(join(dir, 'nd.bin'), { shape: [3, 4], dtype: 'float32' })
  const nd = ndarray(arr.array as Float32Array, [...arr.shape])
  nd.set(2, 3, 7)
  expect(arr.get(2, 3)).toBe(7)
  const col = nd.pick(null, 1) // a strided column: no copy
  ops.assigns(col, 5)
  expect([arr.get(0, 1), arr.get(1, 1), arr.get(2, 1)]).toEqual([5, 5, 5])
  expect(nd.transpose(1, 0).get(3, 2)).toBe(7)
  expect(ops.sum(nd)).toBe(7 + 15)
})
