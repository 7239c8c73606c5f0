import type { DTypeInfo } from './dtype.js'
import { invalidArg } from './errors.js'
import { describe } from './validate.js'

/** A shape: a length, or one non-negative safe integer per dimension. `[]` is a 0-d array (one element). */
export type Shape = number | readonly number[]

/** numpy's limit on dimensions (NPY_MAXDIMS in numpy 2). */
const MAX_DIMS = 64

/** The number of elements of `shape`. @internal */
export function product(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Elements per step along each axis, C order (the last axis is contiguous). @internal */
export function strides(shape: readonly number[]): number[] {
  const out: number[] = Array.from({ length: shape.length }, () => 0)
  for (let d = shape.length - 1, s = 1; d >= 0; d--) {
    out[d] = s
    s *= shape[d]
  }
  return out
}

/**
 * `shape` checked and copied: at most 64 dimensions of non-negative safe integers whose bytes
 * (with `dtype`'s itemsize) are a safe integer too.
 * @internal
 */
export function toShape(shape: unknown, dtype: DTypeInfo, path?: string): number[] {
  if (typeof shape !== 'number' && !Array.isArray(shape)) {
    throw invalidArg(`shape must be a number or an array of numbers, got ${describe(shape)}`, path)
  }
  // Checked before anything is copied: a sparse `new Array(2 ** 32 - 1)` must not be walked.
  if (Array.isArray(shape) && shape.length > MAX_DIMS) {
    throw invalidArg(`shape has ${shape.length} dimensions, at most ${MAX_DIMS} are supported (as in numpy)`, path)
  }
  const dims: unknown[] = typeof shape === 'number' ? [shape] : Array.from(shape as unknown[])
  let bytes = dtype.itemsize
  for (const d of dims) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw invalidArg(`shape entries must be non-negative safe integers, got ${describe(shape)}`, path)
    }
    bytes *= d
  }
  if (!Number.isSafeInteger(bytes)) {
    throw invalidArg(`shape ${describe(shape)} of ${dtype.name} is too large to address (${bytes} bytes)`, path)
  }
  return dims as number[]
}
