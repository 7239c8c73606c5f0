import {
  DTYPES,
  dtypeOfArray,
  toDType,
  type ArrayOf,
  type DType,
  type DTypeInfo,
  type DTypeLike,
  type DTypeOf,
  type TypedArray,
  type ValueOf,
} from './dtype.js'
import { invalidArg, mmapError } from './errors.js'
import { assertOpen, MappedResource } from './lifecycle.js'
import { Mapping, MODES, type Mode } from './mapping.js'
import { describe, oneOf, options, size, toPath, type PathLike } from './validate.js'

/** A shape: a length, or one non-negative safe integer per dimension. `[]` is a 0-d array (one element). */
export type Shape = number | readonly number[]

export interface CreateOptions<T extends DTypeLike = DTypeLike> {
  shape: Shape
  dtype?: T
  /** Every element's initial value; the file is zero-filled (sparse) without it. */
  fill?: number | bigint | boolean
  /** Replace an existing file. Without it an existing file is an `EEXIST` error. */
  overwrite?: boolean
}

export interface OpenOptions<T extends DTypeLike = DTypeLike> {
  /** Default: 1-D over the whole file after `offset`. */
  shape?: Shape
  dtype?: T
  /** `'r'` read-only, `'r+'` read-write (default), `'c'` copy-on-write. */
  mode?: Mode
  /** Bytes to skip at the start of the file: a multiple of the itemsize. */
  offset?: number
}

export interface FromArrayOptions<T extends DTypeLike = DTypeLike> {
  shape?: Shape
  dtype?: T
  overwrite?: boolean
}

/** One step of `chunks()`: rows `start..end` and a zero-copy view of them. */
export interface ArrayChunk<D extends DType = DType> {
  start: number
  end: number
  data: ArrayOf<D>
}

export interface ArrayInfo {
  path: string
  shape: number[]
  dtype: DType
  byteLength: number
  readonly: boolean
}

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

/** @internal a mapping and how to view it; what every constructor path builds. */
export interface ArrayInit {
  map: Mapping
  dtype: DTypeInfo
  shape: readonly number[]
}

/**
 * The mapping `arrayFromInit` hands to the next `MmapArray` constructed: module-private, so no
 * argument a caller can pass reaches it (`new MmapArray(path, opts)` always opens by path).
 */
let handed: ArrayInit | undefined

/** @internal builds an MmapArray over an already-open mapping. */
export function arrayFromInit(init: ArrayInit): MmapArray {
  handed = init
  try {
    return new MmapArray('')
  } finally {
    handed = undefined
  }
}

const SHOWN = ['path', 'shape', 'dtype', 'mode', 'closed'] as const

/**
 * What every mapped array has: `MmapArray` (a file) and `SharedMemoryArray` (shared memory)
 * extend it and add their own ways to create and open one.
 */
export class MappedArray<D extends DType = DType> extends MappedResource {
  // The public members are getters over private state, and the code below reads only the
  // private state: assigning to a member (or shadowing it) cannot change what the array does.
  readonly #map: Mapping
  readonly #path: string
  /** Frozen: handed out as is. */
  readonly #shape: readonly number[]
  readonly #size: number
  readonly #byteLength: number
  readonly #dtype: DTypeInfo
  /** The flat view of the whole mapping; undefined where one typed array cannot hold it. */
  readonly #array: TypedArray | undefined
  /** Elements per step along each axis (C order). */
  readonly #strides: readonly number[]
  /**
   * Past one typed array, memory is reached through windows: window k covers bytes
   * [k * step, k * step + 2 * step), so any range of at most `step` bytes lies inside one window.
   * `step` holds whole rows where a row is at most half a window.
   */
  readonly #step: number
  readonly #views: TypedArray[] = []
  /** The flat view where get(i) may skip the general path: 1-D arrays that fit one typed array. */
  readonly #get1d: TypedArray | undefined
  /** The same for set(i, v): also writable, and storing a JS number as is (not bool, not 64-bit). */
  readonly #set1d: Float64Array | undefined

  /** @internal use `MmapArray`, `SharedMemoryArray` or `createSharedBuffer` */
  constructor(init: ArrayInit) {
    // Only this package can make a Mapping: anything else is a caller constructing this class.
    if (!((init as ArrayInit | undefined)?.map instanceof Mapping)) {
      throw invalidArg(
        'MappedArray is not constructed directly: use MmapArray.open/create/fromArray, new MmapArray(path, options), ' +
          'SharedMemoryArray.create/open or createSharedBuffer',
      )
    }
    const { map, dtype, shape } = init
    super(map, 'array', SHOWN)
    this.#map = map
    this.#dtype = dtype
    this.#path = map.path
    this.#shape = Object.freeze([...shape])
    this.#size = product(shape)
    this.#byteLength = this.#size * dtype.itemsize
    const strides: number[] = Array.from({ length: shape.length }, () => 0)
    for (let d = shape.length - 1, s = 1; d >= 0; d--) {
      strides[d] = s
      s *= shape[d]
    }
    this.#strides = strides
    this.#array = wholeView(dtype, map, this.#size)
    this.#get1d = shape.length === 1 ? this.#array : undefined
    this.#set1d =
      this.#get1d !== undefined && map.mode !== 'r' && !dtype.bigint && dtype.name !== 'bool'
        ? (this.#get1d as Float64Array)
        : undefined
    const rowBytes = (shape.length === 0 ? 1 : strides[0]) * dtype.itemsize
    const unit = rowBytes > 0 && rowBytes <= HALF_WINDOW ? rowBytes : dtype.itemsize
    this.#step = Math.floor(HALF_WINDOW / unit) * unit
  }

  /** Absolute path of the file; for a SharedMemoryArray what another process opens; '' for anonymous memory. */
  get path(): string {
    return this.#path
  }

  /** One length per dimension, frozen. */
  get shape(): readonly number[] {
    return this.#shape
  }

  get dtype(): D {
    return this.#dtype.name as D
  }

  get ndim(): number {
    return this.#shape.length
  }

  /** Number of elements. */
  get size(): number {
    return this.#size
  }

  /** Bytes per element. */
  get itemsize(): number {
    return this.#dtype.itemsize
  }

  get byteLength(): number {
    return this.#byteLength
  }

  /** `shape[0]`, the number of rows (1 for a 0-d array, as there is one element). */
  get length(): number {
    return this.#shape.length === 0 ? 1 : this.#shape[0]
  }

  /**
   * The flat, zero-copy typed array over the whole mapping. An array larger than one typed
   * array can be (see README, Limits) throws `ERR_MMAP_INVALID_ARG`: use `chunks()`, `slice()`,
   * `get`/`set` and the reductions, which all work at any size.
   */
  get array(): ArrayOf<D> {
    this.#live()
    if (this.#array === undefined) {
      throw invalidArg(
        `${this.#size} ${this.#dtype.name} elements (${this.#byteLength} bytes) is more than one typed array can hold here; ` +
          `use chunks(), slice() of up to ${Math.floor(this.#step / this.#dtype.itemsize)} elements, get()/set() or the reductions`,
        this.#path || undefined,
      )
    }
    return this.#array as ArrayOf<D>
  }

  /** One element: one index per dimension, negative indices count from the end. */
  get(...index: number[]): ValueOf<D> {
    // Hot path, no call out: a 1-D array and one in-range integer index (a typed array reads
    // undefined for anything else: negative, fractional, out of range). After close() the view is
    // detached and reads undefined too, so a closed array always takes the checked path.
    const a = this.#get1d
    if (a !== undefined && index.length === 1) {
      const i = index[0]
      if (typeof i === 'number') {
        const v = a[i]
        if (v !== undefined) return v as ValueOf<D>
      }
    }
    return this.#getChecked(index) as ValueOf<D>
  }

  #getChecked(index: number[]): number | bigint {
    this.#live()
    const flat = this.#flatIndex(index, index.length)
    const a = this.#array
    if (a !== undefined) return a[flat]
    const byte = flat * this.#dtype.itemsize
    const k = Math.floor(byte / this.#step)
    return this.#view(k)[(byte - k * this.#step) / this.#dtype.itemsize]
  }

  /** `set(i, j, value)`: the indices, then the value. */
  set(...indexThenValue: (number | bigint | boolean)[]): void
  set(): void {
    // Hot path as in get(): writable 1-D number arrays (not bool, not 64-bit), a number value.
    const a = this.#set1d
    if (a !== undefined && arguments.length === 2) {
      const i = arguments[0]
      const v = arguments[1]
      if (typeof i === 'number' && i >>> 0 === i && i < a.length && typeof v === 'number') {
        a[i] = v
        return
      }
    }
    this.#setChecked(Array.prototype.slice.call(arguments) as (number | bigint | boolean)[])
  }

  #setChecked(indexThenValue: (number | bigint | boolean)[]): void {
    this.#live()
    this.#writable()
    const n = indexThenValue.length - 1
    if (n < 0) throw invalidArg('set() needs the indices and then a value', this.#path || undefined)
    const flat = this.#flatIndex(indexThenValue as number[], n)
    const value = toElement(indexThenValue[n], this.#dtype, this.#path || undefined) as never
    const a = this.#array
    if (a !== undefined) {
      a[flat] = value
      return
    }
    const byte = flat * this.#dtype.itemsize
    const k = Math.floor(byte / this.#step)
    this.#view(k)[(byte - k * this.#step) / this.#dtype.itemsize] = value
  }

  /** Rows `start..end` along axis 0 (Array.prototype.slice rules), flat and zero-copy. */
  slice(start?: number, end?: number): ArrayOf<D> {
    this.#live()
    if (this.#shape.length === 0) throw invalidArg('a 0-d array has no rows to slice', this.#path || undefined)
    const rows = this.#shape[0]
    const s = bound('start', start, 0, rows, this.#path)
    const e = Math.max(s, bound('end', end, rows, rows, this.#path))
    const row = this.#strides[0]
    return this.#range(s * row, e * row) as ArrayOf<D>
  }

  /**
   * Walks the array in order, `rows` rows at a time (default: about 16 MiB), yielding zero-copy
   * views. It advises the kernel to read ahead and releases the pages of each chunk once the
   * loop moves on, so a pass over a file much larger than RAM keeps memory use bounded. Arrays
   * past one typed array get chunks of at most half a window (512 MiB). Pages of a `'c'` array
   * hold this process's writes and are never released.
   */
  *chunks(rows?: number): Generator<ArrayChunk<D>, void, undefined> {
    this.#live()
    if (this.#shape.length === 0) throw invalidArg('a 0-d array has no rows to walk', this.#path || undefined)
    const total = this.#shape[0]
    const rowBytes = this.#strides[0] * this.#dtype.itemsize
    let n =
      rows === undefined ? Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, rowBytes))) : size('rows', rows, this.#path)
    if (n < 1) throw invalidArg('rows must be at least 1', this.#path || undefined)
    if (this.#array === undefined) n = Math.min(n, Math.max(1, Math.floor(this.#step / Math.max(1, rowBytes))))
    if (rowBytes > 0) this.#map.advise('sequential')
    // Windows cannot drop a file's pages from a mapping by advice (VirtualUnlock trims the
    // working set, but not everywhere: not under Wine): each chunk of a file there gets its own
    // mapping, unmapped as the loop moves on. A 'c' array's chunks must show its own writes.
    const unmapBehind = process.platform === 'win32' && this.#map.isFile && this.#map.mode !== 'c' && rowBytes > 0
    let behind: Mapping | undefined
    try {
      for (let start = 0; start < total; start += n) {
        this.#live()
        const end = Math.min(total, start + n)
        if (end < total && rowBytes > 0) {
          this.#map.advise('willneed', end * rowBytes, (Math.min(total, end + n) - end) * rowBytes)
        }
        if (unmapBehind) {
          behind = this.#map.unmappable(start * rowBytes, (end - start) * rowBytes)
          const data = new this.#dtype.ctor(behind.buffer, 0, (end - start) * this.#strides[0])
          yield { start, end, data: data as ArrayOf<D> }
          behind.close()
          behind = undefined
          continue
        }
        yield { start, end, data: this.slice(start, end) }
        if (!this.#map.closed && rowBytes > 0) this.#map.advise('dontneed', start * rowBytes, (end - start) * rowBytes)
      }
    } finally {
      behind?.close()
    }
  }

  /** Sets every element to `value`. */
  fill(value: number | bigint | boolean): this {
    this.#live()
    this.#writable()
    const v = toElement(value, this.#dtype, this.#path || undefined)
    if (this.#array !== undefined) {
      fillArray(this.#array, v)
      return this
    }
    for (let k = 0; k * this.#step < this.#byteLength; k++) {
      fillArray(
        this.#view(k).subarray(0, Math.min(this.#step, this.#byteLength - k * this.#step) / this.#dtype.itemsize),
        v,
      )
    }
    return this
  }

  /** Sum of all elements: a bigint for 64-bit integer dtypes. 0 for an empty array. */
  sum(): ValueOf<D> {
    return this.#reduce('sum') as ValueOf<D>
  }

  /** Arithmetic mean; NaN for an empty array. */
  mean(): number {
    return this.#reduce('mean') as number
  }

  /** Population standard deviation (numpy's default); NaN for an empty array. */
  std(): number {
    return this.#reduce('std') as number
  }

  /** Smallest element (bigint for 64-bit integers); NaN if any element is NaN. */
  min(): ValueOf<D> {
    return this.#reduce('min') as ValueOf<D>
  }

  /** Largest element (bigint for 64-bit integers); NaN if any element is NaN. */
  max(): ValueOf<D> {
    return this.#reduce('max') as ValueOf<D>
  }

  info(): ArrayInfo {
    return {
      path: this.#path,
      shape: [...this.#shape],
      dtype: this.#dtype.name,
      byteLength: this.#byteLength,
      readonly: this.#map.mode === 'r',
    }
  }

  #live(): void {
    assertOpen(this.#map, 'array')
  }

  /** Window k as a typed array, made on first use. */
  #view(k: number): TypedArray {
    let v = this.#views[k]
    if (v === undefined) {
      const offset = k * this.#step
      const bytes = Math.min(2 * this.#step, this.#byteLength - offset)
      v = new this.#dtype.ctor(this.#map.window(offset, bytes))
      this.#views[k] = v
    }
    return v
  }

  /** Elements [from, to) as one zero-copy typed array. */
  #range(from: number, to: number): TypedArray {
    if (this.#array !== undefined) return this.#array.subarray(from, to)
    const b0 = from * this.#dtype.itemsize
    const b1 = to * this.#dtype.itemsize
    if (b1 - b0 > this.#step) {
      throw invalidArg(
        `a view of ${to - from} elements is more than one window of this array holds (${this.#step / this.#dtype.itemsize}); take smaller slices or use chunks()`,
        this.#path || undefined,
      )
    }
    const k = Math.floor(b0 / this.#step)
    const base = k * this.#step
    return this.#view(k).subarray((b0 - base) / this.#dtype.itemsize, (b1 - base) / this.#dtype.itemsize)
  }

  /** Native: vectorised, on every core for large arrays, numpy's numerics (see memmap-core). */
  #reduce(op: 'sum' | 'mean' | 'std' | 'min' | 'max'): number | bigint {
    this.#live()
    return this.#map.reduce(this.#dtype.name, op)
  }

  #writable(): void {
    if (this.#map.mode === 'r') {
      throw mmapError('ERR_MMAP_READONLY', "the array was opened read-only (mode 'r')", this.#path || undefined)
    }
  }

  #flatIndex(index: readonly unknown[], n: number): number {
    const shape = this.#shape
    if (n !== shape.length) {
      throw invalidArg(
        `expected ${shape.length} ${shape.length === 1 ? 'index' : 'indices'} for shape [${shape.join(', ')}], got ${n}`,
        this.#path || undefined,
      )
    }
    let flat = 0
    for (let d = 0; d < n; d++) {
      const dim = shape[d]
      let i = index[d] as number
      if (!Number.isInteger(i) || i >= dim || i < -dim) {
        throw invalidArg(
          `index ${describe(index[d])} is out of bounds for axis ${d} with size ${dim}`,
          this.#path || undefined,
        )
      }
      if (i < 0) i += dim
      flat += i * this.#strides[d]
    }
    return flat
  }
}

/**
 * A file seen as a typed, shaped array, like `numpy.memmap`. Close it with `close()` or a
 * `using` declaration.
 */
export class MmapArray<D extends DType = DType> extends MappedArray<D> {
  /** The same as `MmapArray.open(path, options)`. */
  constructor(path: PathLike, opts?: OpenOptions) {
    const init = handed
    handed = undefined
    super(init ?? openInit(path, opts))
  }

  /** Creates a new file of `prod(shape) * itemsize` bytes and maps it read-write. */
  static create<const T extends DTypeLike = 'float64'>(path: PathLike, opts: CreateOptions<T>): MmapArray<DTypeOf<T>> {
    const p = toPath(path)
    const o = options(opts, 'MmapArray.create')
    if (o.shape == null) throw invalidArg('MmapArray.create needs a shape', p)
    const dtype = toDType(o.dtype ?? 'float64', p)
    const shape = toShape(o.shape, dtype, p)
    const overwrite = flag('overwrite', o.overwrite, p)
    const fillValue = o.fill == null ? undefined : toElement(o.fill, dtype, p)
    // A new file reads as zeros already: only another value (-0 included) needs writing.
    const fill = fillValue !== undefined && !Object.is(fillValue, 0) && fillValue !== 0n
    const write = (map: Mapping): void => {
      if (fill) arrayFromInit({ map, dtype, shape }).fill(fillValue as number | bigint)
    }
    const map = Mapping.create(p, product(shape) * dtype.itemsize, overwrite, write)
    return arrayFromInit({ map, dtype, shape }) as MmapArray<DTypeOf<T>>
  }

  /** Maps an existing file. */
  static open<const T extends DTypeLike = 'float64'>(path: PathLike, opts?: OpenOptions<T>): MmapArray<DTypeOf<T>> {
    return new MmapArray(path, opts) as MmapArray<DTypeOf<T>>
  }

  /**
   * Writes `data` (a typed array, a plain or nested array, or another MmapArray) to a new file
   * and maps it read-write; the data is flushed to disk before this returns.
   */
  static fromArray<const A extends ArrayData, const T extends DTypeLike = never>(
    path: PathLike,
    data: A,
    opts?: FromArrayOptions<T>,
  ): MmapArray<[T] extends [never] ? DTypeOfData<A> : DTypeOf<T>> {
    const p = toPath(path)
    const o = options(opts, 'MmapArray.fromArray')
    const src = flatten(data, p)
    const dtype = o.dtype == null ? src.dtype : toDType(o.dtype, p)
    const shape = o.shape == null ? src.shape : toShape(o.shape, dtype, p)
    if (product(shape) !== src.values.length) {
      throw invalidArg(
        `shape [${shape.join(', ')}] holds ${product(shape)} elements, the data has ${src.values.length}`,
        p,
      )
    }
    const overwrite = flag('overwrite', o.overwrite, p)
    // Written beside the path and renamed into place once complete and flushed: a value that
    // cannot convert leaves no file behind and an overwritten file untouched.
    const write = (map: Mapping): void => copyInto(arrayFromInit({ map, dtype, shape }).array, src.values, dtype, p)
    const map = Mapping.create(p, product(shape) * dtype.itemsize, overwrite, write)
    return arrayFromInit({ map, dtype, shape }) as MmapArray<[T] extends [never] ? DTypeOfData<A> : DTypeOf<T>>
  }
}

/** How `openInit` maps what it was given: a file by path unless told otherwise. @internal */
export type Mapper = (path: string, mode: Mode, offset: number, length?: number) => Mapping

/** @internal */
export function openInit(
  path: PathLike,
  opts: OpenOptions | undefined,
  mapper: Mapper = Mapping.open,
  p: string = toPath(path),
): ArrayInit {
  const o = options(opts, 'MmapArray.open')
  const dtype = toDType(o.dtype ?? 'float64', p)
  const mode = oneOf('mode', o.mode ?? 'r+', MODES, p)
  const offset = size('offset', o.offset ?? 0, p)
  if (offset % dtype.itemsize !== 0) {
    throw mmapError(
      'ERR_MMAP_ALIGNMENT',
      `offset ${offset} is not a multiple of the ${dtype.name} itemsize ${dtype.itemsize}`,
      p,
    )
  }
  if (o.shape != null) {
    const shape = toShape(o.shape, dtype, p)
    return { map: mapper(p, mode, offset, product(shape) * dtype.itemsize), dtype, shape }
  }
  const map = mapper(p, mode, offset)
  if (map.byteLength % dtype.itemsize !== 0) {
    map.close()
    throw mmapError(
      'ERR_MMAP_SIZE_MISMATCH',
      `${map.byteLength} bytes after offset ${offset} is not a whole number of ${dtype.name} items (${dtype.itemsize} bytes each)`,
      p,
    )
  }
  return { map, dtype, shape: [map.byteLength / dtype.itemsize] }
}

/** Half a window: windows are 1 GiB, within every Node's ArrayBuffer and typed-array limits. */
const HALF_WINDOW = 2 ** 29
const CHUNK_BYTES = 16 * 2 ** 20

/** The flat view of the whole mapping, or undefined where Node cannot make one that large. */
function wholeView(dtype: DTypeInfo, map: Mapping, length: number): TypedArray | undefined {
  if (!map.fitsOneBuffer) return undefined
  try {
    return new dtype.ctor(map.buffer, 0, length)
  } catch (err) {
    if (err instanceof RangeError) return undefined // V8 caps typed arrays at 2^32 elements
    throw err
  }
}

/** @internal */
export function product(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** @internal */
/** numpy's limit on dimensions (NPY_MAXDIMS in numpy 2). */
const MAX_DIMS = 64

/** @internal */
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

function flag(name: string, value: unknown, path: string): boolean {
  if (value == null) return false
  if (typeof value !== 'boolean') throw invalidArg(`${name} must be a boolean, got ${describe(value)}`, path)
  return value
}

function bound(name: string, value: number | undefined, dflt: number, len: number, path: string): number {
  if (value === undefined) return dflt
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidArg(`slice ${name} must be an integer, got ${describe(value)}`, path || undefined)
  }
  return value < 0 ? Math.max(0, len + value) : Math.min(value, len)
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

function fillArray(a: TypedArray, value: number | bigint): void {
  ;(a.fill as (v: number | bigint) => TypedArray)(value)
}

interface Flat {
  values: TypedArray | ArrayLike<unknown>
  dtype: DTypeInfo
  shape: number[]
}

/** The data's elements in C order, its natural dtype and its shape. */
function flatten(data: unknown, path: string): Flat {
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

function copyInto(dst: TypedArray, src: TypedArray | ArrayLike<unknown>, dtype: DTypeInfo, path: string): void {
  const srcIsBig = src instanceof BigInt64Array || src instanceof BigUint64Array
  if (ArrayBuffer.isView(src) && srcIsBig === dtype.bigint && dtype.name !== 'bool') {
    ;(dst.set as (a: ArrayLike<number | bigint>) => void)(src as ArrayLike<number | bigint>)
    return
  }
  for (let i = 0; i < src.length; i++) dst[i] = toElement(src[i], dtype, path) as never
}
