import { invalidArg } from './errors.js'
import { describe } from './validate.js'

/** Canonical element types. `bool` is one byte per element, viewed as `Uint8Array`. */
export type DType =
  'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64' | 'bool'

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array

export type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor

/** The typed array each dtype is viewed as (`bool` as raw bytes). */
export interface ArrayTypes {
  int8: Int8Array
  uint8: Uint8Array
  int16: Int16Array
  uint16: Uint16Array
  int32: Int32Array
  uint32: Uint32Array
  int64: BigInt64Array
  uint64: BigUint64Array
  float32: Float32Array
  float64: Float64Array
  bool: Uint8Array
}

/** The typed array of dtype `D`: `ArrayOf<'float32'>` is `Float32Array`; a union for a union. */
export type ArrayOf<D extends DType> = ArrayTypes[D]

/** What one element of dtype `D` reads as: `bigint` for 64-bit integers, `number` otherwise. */
export type ValueOf<D extends DType> = D extends 'int64' | 'uint64' ? bigint : number

type Unprefixed<S extends string> = S extends `${'<' | '|' | '='}${infer Rest}` ? Rest : S
type Named<S extends string> = S extends DType ? S : S extends keyof typeof ALIASES ? (typeof ALIASES)[S] : DType

/**
 * The canonical dtype a dtype-like names, for the type checker: `DTypeOf<'<f4'>` is
 * `'float32'`, `DTypeOf<typeof BigInt64Array>` is `'int64'`. Anything only known at run time (a
 * `string`, an unknown spelling) is the union `DType`.
 */
export type DTypeOf<T> = T extends string
  ? Named<Unprefixed<T>>
  : T extends Int8ArrayConstructor
    ? 'int8'
    : T extends Uint8ArrayConstructor
      ? 'uint8'
      : T extends Uint8ClampedArrayConstructor
        ? 'uint8'
        : T extends Int16ArrayConstructor
          ? 'int16'
          : T extends Uint16ArrayConstructor
            ? 'uint16'
            : T extends Int32ArrayConstructor
              ? 'int32'
              : T extends Uint32ArrayConstructor
                ? 'uint32'
                : T extends BigInt64ArrayConstructor
                  ? 'int64'
                  : T extends BigUint64ArrayConstructor
                    ? 'uint64'
                    : T extends Float32ArrayConstructor
                      ? 'float32'
                      : T extends Float64ArrayConstructor
                        ? 'float64'
                        : DType

/** What a dtype may be given as: a canonical name, a numpy spelling (`'f8'`, `'<i4'`, `'|u1'`, `'float'`), or a typed-array constructor. */
export type DTypeLike = DType | string | TypedArrayConstructor

/** @internal */
export interface DTypeInfo {
  readonly name: DType
  readonly itemsize: number
  readonly ctor: TypedArrayConstructor
  /** numpy's `descr` for the little-endian type, as `.npy` headers spell it. */
  readonly descr: string
  readonly bigint: boolean
  readonly float: boolean
}

const info = (name: DType, ctor: TypedArrayConstructor, descr: string): DTypeInfo => ({
  name,
  itemsize: ctor.BYTES_PER_ELEMENT,
  ctor,
  descr,
  bigint: ctor === BigInt64Array || ctor === BigUint64Array,
  float: ctor === Float32Array || ctor === Float64Array,
})

/** @internal */
export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  int8: info('int8', Int8Array, '|i1'),
  uint8: info('uint8', Uint8Array, '|u1'),
  int16: info('int16', Int16Array, '<i2'),
  uint16: info('uint16', Uint16Array, '<u2'),
  int32: info('int32', Int32Array, '<i4'),
  uint32: info('uint32', Uint32Array, '<u4'),
  int64: info('int64', BigInt64Array, '<i8'),
  uint64: info('uint64', BigUint64Array, '<u8'),
  float32: info('float32', Float32Array, '<f4'),
  float64: info('float64', Float64Array, '<f8'),
  bool: info('bool', Uint8Array, '|b1'),
}

// numpy's type codes and aliases, without byte-order prefix. `int`/`uint` follow numpy 2
// (64-bit everywhere); `long`/`l` are C long, which numpy also makes 64-bit on the platforms
// we ship for except Windows, where they would be 32-bit: we do not guess and take numpy 2's.
const ALIASES = {
  i1: 'int8',
  b: 'int8',
  byte: 'int8',
  u1: 'uint8',
  B: 'uint8',
  ubyte: 'uint8',
  i2: 'int16',
  h: 'int16',
  short: 'int16',
  u2: 'uint16',
  H: 'uint16',
  ushort: 'uint16',
  i4: 'int32',
  i: 'int32',
  intc: 'int32',
  u4: 'uint32',
  I: 'uint32',
  uintc: 'uint32',
  i8: 'int64',
  q: 'int64',
  l: 'int64',
  longlong: 'int64',
  long: 'int64',
  int: 'int64',
  int_: 'int64',
  intp: 'int64',
  u8: 'uint64',
  Q: 'uint64',
  L: 'uint64',
  ulonglong: 'uint64',
  ulong: 'uint64',
  uint: 'uint64',
  uintp: 'uint64',
  f4: 'float32',
  f: 'float32',
  single: 'float32',
  f8: 'float64',
  d: 'float64',
  double: 'float64',
  float: 'float64',
  float_: 'float64',
  '?': 'bool',
  b1: 'bool',
  bool_: 'bool',
} as const satisfies Readonly<Record<string, DType>>

function lookup(spelling: string): DType | undefined {
  if (Object.hasOwn(DTYPES, spelling)) return spelling as DType
  return Object.hasOwn(ALIASES, spelling) ? (ALIASES as Readonly<Record<string, DType>>)[spelling] : undefined
}

/**
 * The canonical dtype of `value`. Throws `ERR_MMAP_INVALID_ARG` for big-endian and unknown
 * types. Multi-byte types are read in the host's byte order, which is little-endian on every
 * platform Node.js supports today.
 * @internal
 */
export function toDType(value: unknown, path?: string): DTypeInfo {
  if (typeof value === 'function') {
    for (const d of Object.values(DTYPES)) if (d.ctor === value && d.name !== 'bool') return d
    if (value === Uint8ClampedArray) return DTYPES.uint8
  } else if (typeof value === 'string') {
    const order = value[0]
    if (order === '>' || order === '!') {
      throw invalidArg(`big-endian dtype '${value}' is not supported: memory is mapped as it is, little-endian`, path)
    }
    const bare = order === '<' || order === '|' || order === '=' ? value.slice(1) : value
    // numpy accepts any of '<' (little), '=' (native) and '|' (not applicable) before any type.
    const name = lookup(bare)
    if (name !== undefined) return DTYPES[name]
  }
  throw invalidArg(
    `dtype must be one of ${Object.keys(DTYPES).join(', ')}, a numpy spelling ('f8', '<i4', '|u1', ...) or a typed-array constructor, got ${describe(value)}`,
    path,
  )
}

/** The dtype of a typed array's elements. @internal */
export function dtypeOfArray(a: TypedArray): DTypeInfo {
  return toDType(a.constructor)
}

/** A value as the typed array of `dtype` stores it. @internal */
export function toElement(value: unknown, dtype: DTypeInfo, path?: string): number | bigint {
  if (dtype.bigint) {
    if (typeof value === 'bigint') return value
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
    if (typeof value === 'boolean') return value ? 1n : 0n
    throw invalidArg(`a ${dtype.name} value must be a bigint or a safe integer, got ${describe(value)}`, path)
  }
  if (typeof value === 'number') return dtype.name === 'bool' ? (value !== 0 && value === value ? 1 : 0) : value
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'bigint') return dtype.name === 'bool' ? (value !== 0n ? 1 : 0) : Number(value)
  throw invalidArg(`a ${dtype.name} value must be a number, got ${describe(value)}`, path)
}

/** Sets every element of `a` to `value`, already converted by `toElement`. @internal */
export function fillArray(a: TypedArray, value: number | bigint): void {
  ;(a.fill as (v: number | bigint) => TypedArray)(value)
}

/**
 * Copies `src` into `dst` (of `dtype`): typed arrays of the same kind of element in one native
 * copy, anything else element by element through `toElement`. @internal
 */
export function copyElements(
  dst: TypedArray,
  src: TypedArray | ArrayLike<unknown>,
  dtype: DTypeInfo,
  path?: string,
): void {
  const srcIsBig = src instanceof BigInt64Array || src instanceof BigUint64Array
  if (ArrayBuffer.isView(src) && srcIsBig === dtype.bigint && dtype.name !== 'bool') {
    ;(dst.set as (a: ArrayLike<number | bigint>) => void)(src as ArrayLike<number | bigint>)
    return
  }
  for (let i = 0; i < src.length; i++) dst[i] = toElement(src[i], dtype, path) as never
}
