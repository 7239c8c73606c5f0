import { invalidArg } from './errors.js'
import { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from './half.js'
import { describe } from './validate.js'

/**
 * Canonical element types. `bool` is one byte per element, viewed as `Uint8Array`; `float16` and
 * `bfloat16` are two bytes, viewed as `Float16Array` (float16, where the runtime has it) or as
 * a `Uint16Array` of their raw bits.
 */
export type DType =
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float16'
  | 'bfloat16'
  | 'float32'
  | 'float64'
  | 'bool'

/**
 * `Float16Array` where the TypeScript libs in use declare it (`lib: ["ESNext"]` or
 * `"ESNext.Float16"`, TypeScript 5.9+), `never` otherwise: the declarations name the type only
 * through `globalThis`, so they compile with libs that have no `Float16Array` at all.
 */
export type Float16ArrayIfDeclared = typeof globalThis extends { Float16Array: { prototype: infer A } } ? A : never
/** `Float16ArrayConstructor` where the libs declare it, `never` otherwise (see `Float16ArrayIfDeclared`). */
export type Float16ArrayConstructorIfDeclared = typeof globalThis extends { Float16Array: infer C } ? C : never

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
  | Float16ArrayIfDeclared
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
  | Float16ArrayConstructorIfDeclared
  | Float32ArrayConstructor
  | Float64ArrayConstructor

/**
 * The typed array each dtype is viewed as (`bool` as raw bytes). `float16` is a `Float16Array`
 * on runtimes that have one (Node >= 24) and a `Uint16Array` of raw bits elsewhere, so its type
 * is both (just `Uint16Array` where the TypeScript libs have no `Float16Array`): check
 * `arr.array instanceof Uint16Array` before reading it as values. `bfloat16` is always raw bits.
 */
export interface ArrayTypes {
  int8: Int8Array
  uint8: Uint8Array
  int16: Int16Array
  uint16: Uint16Array
  int32: Int32Array
  uint32: Uint32Array
  int64: BigInt64Array
  uint64: BigUint64Array
  float16: Float16ArrayIfDeclared | Uint16Array
  bfloat16: Uint16Array
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
                        : T extends Float16ArrayConstructorIfDeclared
                          ? 'float16'
                          : DType

/** What a dtype may be given as: a canonical name, a numpy spelling (`'f8'`, `'<i4'`, `'|u1'`, `'float'`), or a typed-array constructor. */
export type DTypeLike = DType | string | TypedArrayConstructor

/** @internal */
export interface DTypeInfo {
  readonly name: DType
  readonly itemsize: number
  /** How the memory is read and written: for float16 and bfloat16 their bits, as `Uint16Array`. */
  readonly ctor: TypedArrayConstructor
  /** What `.array`, `slice()` and `chunks()` hand out: `ctor`, but `Float16Array` for float16 where the runtime has it. */
  readonly view: TypedArrayConstructor
  /** numpy's `descr` for the little-endian type, as `.npy` headers spell it; undefined for bfloat16, which numpy lacks. */
  readonly descr: string | undefined
  readonly bigint: boolean
  readonly float: boolean
  /** float16 and bfloat16: a number to its bits (rounded to nearest even), and bits to their number. */
  readonly half?: { readonly encode: (x: number) => number; readonly decode: (bits: number) => number }
}

/** The runtime's `Float16Array` (Node >= 24), if it has one. @internal */
export const Float16ArrayOrUndefined = (globalThis as { Float16Array?: TypedArrayConstructor }).Float16Array

const info = (name: DType, ctor: TypedArrayConstructor, descr: string): DTypeInfo => ({
  name,
  itemsize: ctor.BYTES_PER_ELEMENT,
  ctor,
  view: ctor,
  descr,
  bigint: ctor === BigInt64Array || ctor === BigUint64Array,
  float: ctor === Float32Array || ctor === Float64Array,
})

const half = (
  name: DType,
  view: TypedArrayConstructor,
  descr: string | undefined,
  encode: (x: number) => number,
  decode: (bits: number) => number,
): DTypeInfo => ({
  name,
  itemsize: 2,
  ctor: Uint16Array,
  view,
  descr,
  bigint: false,
  float: true,
  half: { encode, decode },
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
  float16: half('float16', Float16ArrayOrUndefined ?? Uint16Array, '<f2', float16Bits, float16Value),
  bfloat16: half('bfloat16', Uint16Array, undefined, bfloat16Bits, bfloat16Value),
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
  f2: 'float16',
  e: 'float16',
  half: 'float16',
  bf16: 'bfloat16',
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
    if (value === Float16ArrayOrUndefined) return DTYPES.float16
    for (const d of Object.values(DTYPES)) if (d.ctor === value && d.name !== 'bool' && !d.half) return d
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

/**
 * A value as the typed array of `dtype` stores it: for float16 and bfloat16 the bits (the
 * number rounded to nearest even), to be stored through a `Uint16Array`. @internal
 */
export function toElement(value: unknown, dtype: DTypeInfo, path?: string): number | bigint {
  if (dtype.bigint) {
    if (typeof value === 'bigint') return value
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
    if (typeof value === 'boolean') return value ? 1n : 0n
    throw invalidArg(`a ${dtype.name} value must be a bigint or a safe integer, got ${describe(value)}`, path)
  }
  let n: number
  if (typeof value === 'number') n = dtype.name === 'bool' ? (value !== 0 && value === value ? 1 : 0) : value
  else if (typeof value === 'boolean') n = value ? 1 : 0
  else if (typeof value === 'bigint') n = dtype.name === 'bool' ? (value !== 0n ? 1 : 0) : Number(value)
  else throw invalidArg(`a ${dtype.name} value must be a number, got ${describe(value)}`, path)
  return dtype.half === undefined ? n : dtype.half.encode(n)
}

/** Sets every element of `a` to `value`, already converted by `toElement`. @internal */
export function fillArray(a: TypedArray, value: number | bigint): void {
  ;(a.fill as (v: number | bigint) => TypedArray)(value)
}

/** A view of `a`'s memory as `ctor`, or `a` itself if it is one already. @internal */
export function viewAs(a: TypedArray, ctor: TypedArrayConstructor): TypedArray {
  if (a instanceof ctor) return a
  return new ctor(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength / ctor.BYTES_PER_ELEMENT)
}

/**
 * Copies `src` (elements of `srcDtype`: for float16 and bfloat16 their view, bits or values)
 * into `dst`, the storage of a new array of `dtype` (`dtype.ctor`: bits for float16 and
 * bfloat16). Elements of the same kind go in one native copy, raw bits only between arrays of
 * the same half dtype; anything else element by element through `toElement`. @internal
 */
export function copyElements(
  dst: TypedArray,
  src: TypedArray | ArrayLike<unknown>,
  srcDtype: DTypeInfo,
  dtype: DTypeInfo,
  path?: string,
): void {
  if (srcDtype.half !== undefined && ArrayBuffer.isView(src)) {
    const bits = viewAs(src as TypedArray, Uint16Array) as Uint16Array
    if (srcDtype === dtype) {
      dst.set(bits as never)
      return
    }
    const decode = srcDtype.half.decode
    for (let i = 0; i < bits.length; i++) dst[i] = toElement(decode(bits[i]), dtype, path) as never
    return
  }
  const srcIsBig = src instanceof BigInt64Array || src instanceof BigUint64Array
  if (ArrayBuffer.isView(src) && srcIsBig === dtype.bigint && dtype.name !== 'bool' && dtype.half === undefined) {
    ;(dst.set as (a: ArrayLike<number | bigint>) => void)(src as ArrayLike<number | bigint>)
    return
  }
  for (let i = 0; i < src.length; i++) dst[i] = toElement(src[i], dtype, path) as never
}
