import { MappedArray, type ArrayInit } from './mapped-array.js'
import { arrayFromInit, openInit, type Mapper, type MmapArray } from './mmap-array.js'
import { product, toShape, type Shape } from './shape.js'
import { bytesOf, writeNewFile } from './binary.js'
import { DTYPES, dtypeOfArray, toDType, type DType, type DTypeInfo, type TypedArray } from './dtype.js'
import { invalidArg, mmapError } from './errors.js'
import { Mapping, MODES, type Mode } from './mapping.js'
import { buildNpyHeader, NPY_MAX_HEADER, parseNpyHeader, type NpyHeader } from './npy-header.js'
import { oneOf, options, toPath, type PathLike } from './validate.js'

export interface SaveNpyOptions {
  /** Default: the data's own shape (`[length]` for a typed array). */
  shape?: Shape
  overwrite?: boolean
}

export interface OpenNpyOptions {
  /** `'r'` (default), `'r+'` or `'c'`. */
  mode?: Mode
}

/** Writes `data` as a numpy `.npy` file, header byte for byte as `np.save` writes it (format 1.0, C order, little-endian). */
export function saveNpy(path: PathLike, data: TypedArray | MappedArray, opts?: SaveNpyOptions): void {
  const p = toPath(path)
  const o = options(opts, 'saveNpy')
  const bytes = bytesOf(data, p)
  const dtype: DTypeInfo = data instanceof MappedArray ? DTYPES[data.dtype] : dtypeOfArray(data)
  if (dtype.descr === undefined) {
    throw invalidArg(
      `numpy's .npy format has no ${dtype.name} dtype: save ${dtype.name} arrays with saveSafetensors (the safetensors format has BF16)`,
      p,
    )
  }
  const count = bytes.byteLength / dtype.itemsize
  const shape =
    o.shape !== undefined ? toShape(o.shape, dtype, p) : data instanceof MappedArray ? [...data.shape] : [count]
  if (product(shape) !== count) {
    throw invalidArg(`shape [${shape.join(', ')}] holds ${product(shape)} elements, the data has ${count}`, p)
  }
  writeNewFile(p, [buildNpyHeader(dtype.descr, shape), bytes], o.overwrite)
}

/**
 * Maps a `.npy` file zero-copy, with the dtype and shape its header declares. The dtype is
 * known only at run time: `openNpy<'float32'>(p)` asserts it for the type checker (unchecked).
 */
export function openNpy<D extends DType = DType>(path: PathLike, opts?: OpenNpyOptions): MmapArray<D> {
  const p = toPath(path)
  const o = options(opts, 'openNpy')
  const mode = oneOf('mode', o.mode ?? 'r', MODES, p)
  // The header and the data come from one open of the file: a file replaced meanwhile cannot
  // pair one file's header with another's data.
  return Mapping.openParsed(p, mode, (head, map) => {
    const header = parseNpyHeader(head(NPY_MAX_HEADER + 12), p)
    return arrayFromInit(npyInit(p, mode, header, mapper(map))) as MmapArray<D>
  })
}

/** A file as `openNpyOrRaw` opened it: the array's mapping and view, and the header of a `.npy` file. @internal */
export interface OpenedFile {
  init: ArrayInit
  header?: NpyHeader
}

/**
 * Opens `path` once and reads its first bytes. A `.npy` file (numpy's magic string first) is
 * mapped as `openNpy` maps it and comes back with its header; any other file is mapped by `raw`,
 * given a mapper of the same open, or not at all (undefined) without `raw`. @internal
 */
export function openNpyOrRaw(path: string, mode: Mode): OpenedFile | undefined
/** @internal */
export function openNpyOrRaw(path: string, mode: Mode, raw: (map: Mapper) => ArrayInit): OpenedFile
/** @internal */
export function openNpyOrRaw(path: string, mode: Mode, raw?: (map: Mapper) => ArrayInit): OpenedFile | undefined {
  return Mapping.openParsed(path, mode, (head, map) => {
    const bytes = head(NPY_MAX_HEADER + 12)
    const npy = bytes.length >= 6 && bytes[0] === 0x93 && String.fromCharCode(...bytes.subarray(1, 6)) === 'NUMPY'
    if (!npy) return raw === undefined ? undefined : { init: raw(mapper(map)) }
    const header = parseNpyHeader(bytes, path)
    return { init: npyInit(path, mode, header, mapper(map)), header }
  })
}

/** `Mapping.openParsed`'s map as `openInit` takes it: the path and mode are the open's. */
function mapper(map: (offset: number, length?: number) => Mapping): Mapper {
  return (_path, _mode, offset, length) => map(offset, length)
}

/** The mapping and view of the array a `.npy` header declares. */
function npyInit(p: string, mode: Mode, header: NpyHeader, map: Mapper): ArrayInit {
  let dtype: DTypeInfo | undefined
  try {
    dtype = toDType(header.descr)
  } catch {
    dtype = undefined
  }
  // numpy has no bfloat16 (ml_dtypes' is saved as the void type '<V2'): a header naming it is not numpy's.
  if (dtype === undefined || dtype.descr === undefined) {
    throw mmapError(
      'ERR_MMAP_FORMAT',
      `unsupported .npy dtype '${header.descr}' (expected a little-endian bool, integer or float)`,
      p,
    )
  }
  if (!Number.isSafeInteger(header.shape.reduce((n, d) => n * d, dtype.itemsize))) {
    throw mmapError(
      'ERR_MMAP_FORMAT',
      `.npy header declares more data than can be addressed (shape (${header.shape.join(', ')}) of ${dtype.name})`,
      p,
    )
  }
  if (header.dataOffset % dtype.itemsize !== 0) {
    throw mmapError(
      'ERR_MMAP_FORMAT',
      `.npy data starts at byte ${header.dataOffset}, not aligned for ${dtype.name}`,
      p,
    )
  }
  return openInit(p, { dtype: dtype.name, shape: header.shape, offset: header.dataOffset, mode }, map, p)
}
