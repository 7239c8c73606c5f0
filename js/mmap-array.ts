import { copyElements, toDType, toElement, viewAs, type DType, type DTypeLike, type DTypeOf } from './dtype.js'
import { invalidArg, mmapError } from './errors.js'
import { flatten, type ArrayData, type DTypeOfData } from './ingest.js'
import { MappedArray, type ArrayInit } from './mapped-array.js'
import { Mapping, MODES, type Mode } from './mapping.js'
import { product, toShape, type Shape } from './shape.js'
import { describe, oneOf, options, size, toPath, type PathLike } from './validate.js'

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
    // Checked before the file is made; what is stored (for float16 and bfloat16: the bits).
    const stored = o.fill == null ? undefined : toElement(o.fill, dtype, p)
    // A new file reads as zeros already: only another value (-0 included) needs writing.
    const fill = stored !== undefined && !Object.is(stored, 0) && stored !== 0n
    const write = (map: Mapping): void => {
      if (fill) arrayFromInit({ map, dtype, shape }).fill(o.fill as number | bigint | boolean)
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
    const write = (map: Mapping): void =>
      copyElements(viewAs(arrayFromInit({ map, dtype, shape }).array, dtype.ctor), src.values, src.dtype, dtype, p)
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

function flag(name: string, value: unknown, path: string): boolean {
  if (value == null) return false
  if (typeof value !== 'boolean') throw invalidArg(`${name} must be a boolean, got ${describe(value)}`, path)
  return value
}
