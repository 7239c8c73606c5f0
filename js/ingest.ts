// Data handed to the writers (`fromArray`, `saveNpy`, `saveBinary`, `SharedMemoryArray.create`
// with `data`): what they accept, the dtype and shape it has, its elements in C order.
import { DTYPES, dtypeOfArray, type DType, type DTypeInfo, type TypedArray } from './dtype.js'
import { invalidArg } from './errors.js'
import { MappedArray } from './mapped-array.js'
import { describe } from './validate.js'

/** What `fromArray` and the savers accept as data. */
export type ArrayData = TypedArray | MappedArray | ArrayLike<number | bigint | boolean> | NestedArray
export interface NestedArray extends ReadonlyArray<number | bigint | boolean | NestedArray> {}

/** The elements' type of a nested array, at most 8 levels deep (deeper is `unknown`). */
type Leaf<A, Depth extends unknown[] = []> = Depth['length'] extends 8
  ? unknown
  : A extends ReadonlyArray<infer E>
    ? Leaf<E, [...Depth, unknown]>
    : A
/** Typed arrays by their `Symbol.toStringTag`, which tells them apart whatever their buffer type. */
interface TaggedDTypes {
  Int8Array: 'int8'
  Uint8Array: 'uint8'
  Uint8ClampedArray: 'uint8'
  Int16Array: 'int16'
  Uint16Array: 'uint16'
  Int32Array: 'int32'
  Uint32Array: 'uint32'
  BigInt64Array: 'int64'
  BigUint64Array: 'uint64'
  Float16Array: 'float16'
  Float32Array: 'float32'
  Float64Array: 'float64'
}
type TypedDType<A> = A extends { readonly [Symbol.toStringTag]: infer Tag extends keyof TaggedDTypes }
  ? TaggedDTypes[Tag]
  : DType
type ListDType<L> = [L] extends [never]
  ? 'float64'
  : [L] extends [bigint]
    ? 'int64'
    : [L] extends [boolean]
      ? 'bool'
      : 'float64'

/**
 * The dtype `fromArray` gives `data` without a `dtype` option, for the type checker: a typed
 * array's own (`Uint8Array` is `uint8`), an array's, and for plain arrays what the values are
 * (`bigint`s: `int64`, booleans: `bool`, otherwise `float64`).
 */
export type DTypeOfData<A> =
  A extends MappedArray<infer D>
    ? D
    : A extends TypedArray
      ? TypedDType<A>
      : A extends ReadonlyArray<unknown>
        ? ListDType<Leaf<A>>
        : DType

/** @internal */
export interface Flat {
  /**
   * The elements in C order. For float16 and bfloat16 (of `dtype`) a typed array of their raw
   * bits or, for float16, a Float16Array of values: `copyElements` knows which.
   */
  values: TypedArray | ArrayLike<unknown>
  /** The data's own dtype: a typed array's, or what a plain array's values are. */
  dtype: DTypeInfo
  shape: number[]
}

/** The data's elements in C order, its natural dtype and its shape. @internal */
export function flatten(data: unknown, path: string): Flat {
  if (data instanceof MappedArray) {
    return { values: data.array, dtype: DTYPES[data.dtype as DType], shape: [...data.shape] }
  }
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const a = data as TypedArray
    return { values: a, dtype: dtypeOfArray(a), shape: [a.length] }
  }
  if (!Array.isArray(data)) {
    throw invalidArg(`data must be a typed array, an array or an MmapArray, got ${describe(data)}`, path)
  }
  // Nested arrays: numpy's rule, rectangular or an error.
  const shape: number[] = []
  for (let level: unknown = data; Array.isArray(level); level = level[0]) {
    shape.push(level.length)
    if (level.length === 0) break
  }
  const values: unknown[] = []
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw invalidArg('nested arrays must be rectangular (all rows the same length)', path)
      values.push(node)
      return
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw invalidArg('nested arrays must be rectangular (all rows the same length)', path)
    }
    for (const child of node) walk(child, depth + 1)
  }
  walk(data, 0)
  let dtype = DTYPES.float64
  if (values.length > 0 && values.every((v) => typeof v === 'bigint')) dtype = DTYPES.int64
  else if (values.length > 0 && values.every((v) => typeof v === 'boolean')) dtype = DTYPES.bool
  return { values, dtype, shape }
}
