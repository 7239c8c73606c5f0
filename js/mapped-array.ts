import {
  fillArray,
  toElement,
  viewAs,
  type ArrayOf,
  type DType,
  type DTypeInfo,
  type TypedArray,
  type TypedArrayConstructor,
  type ValueOf,
} from './dtype.js'
import { invalidArg, mmapError } from './errors.js'
import { assertOpen, MappedResource } from './lifecycle.js'
import { Mapping, type WaitResult } from './mapping.js'
import { product, strides } from './shape.js'
import { describe, size } from './validate.js'

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

/** @internal a mapping and how to view it; what every constructor path builds. */
export interface ArrayInit {
  map: Mapping
  dtype: DTypeInfo
  shape: readonly number[]
}

/** Half a window: windows are 1 GiB, within every Node's ArrayBuffer and typed-array limits. */
const HALF_WINDOW = 2 ** 29
const CHUNK_BYTES = 16 * 2 ** 20
/**
 * Before an array has a view of the whole mapping, its first element accesses copy the element
 * out (or in) with a native call, and the view (past one typed array: the window that holds the
 * element) is made at the `DIRECT_ACCESSES + 1`th. An
 * external ArrayBuffer's size counts as V8 external memory: making one over a large mapping
 * costs tens of microseconds and pushes V8 towards a garbage collection, as much as a few
 * hundred calls, so a program that opens a file to read a few elements never pays it and a loop
 * over the elements pays it once. Mappings of at most `DIRECT_MIN_BYTES` make the view at once.
 */
const DIRECT_ACCESSES = 64
const DIRECT_MIN_BYTES = 2 ** 20

/** One element of each typed-array type, and its bytes: where `read`/`write` copy an element. */
const scratch = new Map<TypedArrayConstructor, [TypedArray, Uint8Array]>()
function scratchOf(ctor: TypedArrayConstructor): [TypedArray, Uint8Array] {
  let s = scratch.get(ctor)
  if (s === undefined) {
    const one = new ctor(1)
    s = [one, new Uint8Array(one.buffer)]
    scratch.set(ctor, s)
  }
  return s
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
  /**
   * The flat view of the whole mapping, made on first need (opening makes no ArrayBuffer, and
   * neither do the reductions). `#wholeFits` turns false once it is known one typed array cannot
   * hold the mapping. It is the dtype's storage type (`ctor`: the bits of float16 and
   * bfloat16), and `#public` the same memory as `.array` hands it out (`view`: a Float16Array
   * for float16 where the runtime has one); the same object where the two types are one.
   */
  #array: TypedArray | undefined
  #public: TypedArray | undefined
  #wholeFits: boolean
  /** Element accesses left that copy through a native call before the whole view is made. */
  #direct: number
  /** Where `#holder()` found the element in the typed array it returned. */
  #at = 0
  /** Elements per step along each axis (C order). */
  readonly #strides: readonly number[]
  /**
   * Past one typed array, memory is reached through windows: window k covers bytes
   * [k * step, k * step + 2 * step), so any range of at most `step` bytes lies inside one window.
   * `step` holds whole rows where a row is at most half a window.
   */
  readonly #step: number
  readonly #views: TypedArray[] = []
  /** The flat view where get(i) may skip the general path: 1-D arrays once `#array` exists. */
  #get1d: TypedArray | undefined
  /** The same for float16 and bfloat16 arrays whose view is their bits: decoded by `#decode`. */
  #get1dBits: Uint16Array | undefined
  readonly #decode: ((bits: number) => number) | undefined
  /**
   * The same for set(i, v): also writable, and storing a JS number as is (not bool, not 64-bit)
   * or, for float16 and bfloat16, its bits from `#encode`.
   */
  #set1d: Float64Array | undefined
  readonly #encode: ((x: number) => number) | undefined

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
    this.#encode = dtype.half?.encode
    this.#decode = dtype.half?.decode
    this.#path = map.path
    this.#shape = Object.freeze([...shape])
    this.#size = product(shape)
    this.#byteLength = this.#size * dtype.itemsize
    this.#strides = strides(shape)
    this.#wholeFits = map.fitsOneBuffer
    this.#direct = this.#byteLength > DIRECT_MIN_BYTES ? DIRECT_ACCESSES : 0
    const rowBytes = (shape.length === 0 ? 1 : this.#strides[0]) * dtype.itemsize
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
    const whole = this.#whole()
    if (whole === undefined) {
      throw invalidArg(
        `${this.#size} ${this.#dtype.name} elements (${this.#byteLength} bytes) is more than one typed array can hold here; ` +
          `use chunks(), slice() of up to ${Math.floor(this.#step / this.#dtype.itemsize)} elements, get()/set() or the reductions`,
        this.#path || undefined,
      )
    }
    return this.#public as ArrayOf<D>
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
    } else if (this.#get1dBits !== undefined && index.length === 1) {
      const i = index[0]
      if (typeof i === 'number') {
        const v = this.#get1dBits[i]
        if (v !== undefined) return (this.#decode as (bits: number) => number)(v) as ValueOf<D>
      }
    }
    return this.#getChecked(index) as ValueOf<D>
  }

  #getChecked(index: number[]): number | bigint {
    this.#live()
    const flat = this.#flatIndex(index, index.length)
    if (this.#direct > 0 && this.#array === undefined) {
      this.#direct--
      const [one, bytes] = scratchOf(this.#dtype.ctor)
      this.#map.read(flat * this.#dtype.itemsize, bytes)
      return this.#dtype.half === undefined ? one[0] : this.#dtype.half.decode(one[0] as number)
    }
    const holder = this.#holder(flat)
    const v = holder[this.#at]
    return this.#dtype.half === undefined ? v : this.#dtype.half.decode(v as number)
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
        const encode = this.#encode
        a[i] = encode === undefined ? v : encode(v)
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
    if (this.#direct > 0 && this.#array === undefined) {
      this.#direct--
      const [one, bytes] = scratchOf(this.#dtype.ctor)
      one[0] = value
      this.#map.write(flat * this.#dtype.itemsize, bytes)
      return
    }
    const holder = this.#holder(flat)
    holder[this.#at] = value
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
    if (this.#whole() === undefined) n = Math.min(n, Math.max(1, Math.floor(this.#step / Math.max(1, rowBytes))))
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
          const data = new this.#dtype.view(behind.buffer, 0, (end - start) * this.#strides[0])
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
    const whole = this.#whole()
    if (whole !== undefined) {
      fillArray(whole, v)
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

  /**
   * Like `Atomics.wait`, across processes: sleeps (blocking this thread) while the int32
   * element at flat index `index` holds `expected`, until a `notify` on it from any process that
   * maps the same memory, or `timeoutMs` (default: forever). int32 arrays only.
   */
  wait(index: number, expected: number, timeoutMs?: number): WaitResult {
    const [at, e, t] = this.#waitArgs('wait', index, expected, timeoutMs)
    return this.#map.wait(at, e, t)
  }

  /**
   * `wait` without blocking: a promise of the same result. Pending waits use threads of their
   * own, never libuv's threadpool; closing the array rejects them with `ERR_MMAP_CLOSED`.
   */
  waitAsync(index: number, expected: number, timeoutMs?: number): Promise<WaitResult> {
    try {
      const [at, e, t] = this.#waitArgs('waitAsync', index, expected, timeoutMs)
      return this.#map.waitAsync(at, e, t)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Like `Atomics.notify`, across processes: wakes up to `count` (default: all) waiters on the
   * int32 element at flat index `index`; returns how many were woken.
   */
  notify(index: number, count: number = Infinity): number {
    const at = this.#waitIndex('notify', index)
    if (
      typeof count !== 'number' ||
      Number.isNaN(count) ||
      count < 0 ||
      (count !== Infinity && !Number.isInteger(count))
    ) {
      throw invalidArg(
        `notify count must be a non-negative integer or Infinity, got ${describe(count)}`,
        this.#path || undefined,
      )
    }
    return this.#map.notify(at, count === Infinity ? undefined : count)
  }

  /** The checked byte offset, expected value and timeout of a wait. */
  #waitArgs(
    what: string,
    index: number,
    expected: number,
    timeoutMs: number | undefined,
  ): [number, number, number | undefined] {
    const at = this.#waitIndex(what, index)
    if (typeof expected !== 'number' || !Number.isInteger(expected) || expected < -(2 ** 31) || expected >= 2 ** 31) {
      throw invalidArg(`${what} expected must be an int32 value, got ${describe(expected)}`, this.#path || undefined)
    }
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0)) {
      throw invalidArg(
        `${what} timeoutMs must be a non-negative number, Infinity or undefined, got ${describe(timeoutMs)}`,
        this.#path || undefined,
      )
    }
    return [at, expected, timeoutMs === Infinity ? undefined : timeoutMs]
  }

  /** The byte offset of flat element `index` of an open int32 array. */
  #waitIndex(what: string, index: number): number {
    this.#live()
    if (this.#dtype.name !== 'int32') {
      throw invalidArg(`${what} works on int32 arrays only; this array is ${this.#dtype.name}`, this.#path || undefined)
    }
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= this.#size) {
      throw invalidArg(
        `${what} index must be an integer in [0, ${this.#size}), got ${describe(index)}`,
        this.#path || undefined,
      )
    }
    return index * 4
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

  /**
   * The flat view of the whole mapping, made now if it was not yet; undefined where one typed
   * array cannot hold the mapping.
   */
  #whole(): TypedArray | undefined {
    if (this.#array !== undefined || !this.#wholeFits) return this.#array
    let a: TypedArray
    try {
      a = new this.#dtype.ctor(this.#map.buffer, 0, this.#size)
    } catch (err) {
      if (!(err instanceof RangeError)) throw err // V8 caps typed arrays at 2^32 elements
      this.#wholeFits = false
      return undefined
    }
    this.#array = a
    this.#public = viewAs(a, this.#dtype.view)
    if (this.#shape.length === 1) {
      // float16 and bfloat16 bits must be decoded: get(i) reads the values straight from a view
      // of values only (a Float16Array); set(i, v) always stores through the bits.
      if (this.#dtype.half === undefined || this.#public !== a) this.#get1d = this.#public
      else this.#get1dBits = a as Uint16Array
      if (this.#map.mode !== 'r' && !this.#dtype.bigint && this.#dtype.name !== 'bool') this.#set1d = a as Float64Array
    }
    return a
  }

  /**
   * The typed array that holds element `flat`, with `#at` set to its index in it: the whole view
   * where one typed array can hold the mapping, the window that holds it otherwise.
   */
  #holder(flat: number): TypedArray {
    const whole = this.#whole()
    if (whole !== undefined) {
      this.#at = flat
      return whole
    }
    const byte = flat * this.#dtype.itemsize
    const k = Math.floor(byte / this.#step)
    this.#at = (byte - k * this.#step) / this.#dtype.itemsize
    return this.#view(k)
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

  /** Elements [from, to) as one zero-copy typed array, of the dtype's public view type. */
  #range(from: number, to: number): TypedArray {
    const whole = this.#whole()
    if (whole !== undefined) return (this.#public as TypedArray).subarray(from, to)
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
    const part = this.#view(k).subarray((b0 - base) / this.#dtype.itemsize, (b1 - base) / this.#dtype.itemsize)
    return viewAs(part, this.#dtype.view)
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

function bound(name: string, value: number | undefined, dflt: number, len: number, path: string): number {
  if (value === undefined) return dflt
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidArg(`slice ${name} must be an integer, got ${describe(value)}`, path || undefined)
  }
  return value < 0 ? Math.max(0, len + value) : Math.min(value, len)
}
