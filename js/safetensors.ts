// Hugging Face's safetensors format: model weights, mapped in place.
import './dispose.js'
import { inspect } from 'node:util'

import { bytesOf } from './binary.js'
import {
  copyElements,
  DTYPES,
  dtypeOfArray,
  toDType,
  type DType,
  type DTypeInfo,
  type DTypeLike,
  type TypedArray,
} from './dtype.js'
import { invalidArg, mmapError } from './errors.js'
import { flatten, type ArrayData } from './ingest.js'
import { MappedArray, type ArrayInit } from './mapped-array.js'
import { Mapping, MODES, type Mode } from './mapping.js'
import { arrayFromInit, type MmapArray } from './mmap-array.js'
import {
  buildSafetensorsHeader,
  headerLengthOf,
  parseSafetensorsHeader,
  ST_MAX_HEADER,
  ST_NAMES,
  type StEntry,
  type StHeader,
  type StTensor,
} from './safetensors-header.js'
import { product, toShape, type Shape } from './shape.js'
import { describe, oneOf, options, toPath, type PathLike } from './validate.js'

export interface OpenSafetensorsOptions {
  /** `'r'` read-only (default), `'r+'` read-write (writes reach the file), `'c'` copy-on-write. */
  mode?: Mode
}

/** Where a tensor is and what it holds, as the header says. */
export interface SafetensorsTensorInfo {
  /** The canonical dtype (`'float32'`, `'bfloat16'`), or the header's own name for a dtype memmap does not map (`'F8_E4M3'`). */
  dtype: string
  shape: number[]
  /** From the start of the file. */
  byteOffset: number
  byteLength: number
}

/** A tensor for `saveSafetensors` given by its values, converted to `dtype` (values, never bits). */
export interface SafetensorsValues {
  dtype: DTypeLike
  /** Default: the data's own shape. */
  shape?: Shape
  data: ArrayData
}

export interface SaveSafetensorsOptions {
  /** Written as the header's `__metadata__`: string values only. */
  metadata?: Record<string, string>
  /** Replace an existing file (atomically). Without it an existing file is an `EEXIST` error. */
  overwrite?: boolean
}

let construct: (path: string, map: Mapping, header: StHeader) => SafetensorsFile
let initOf: (file: SafetensorsFile, name: string) => ArrayInit

/**
 * An open safetensors file: its header, checked, and zero-copy views of its tensors. The file is
 * opened and mapped once; each tensor taken is a view of its bytes, made on first use and closed
 * with the file. Iterating gives `[name, tensor]` in the order of the data.
 */
export class SafetensorsFile implements Disposable, Iterable<[string, MmapArray]> {
  /** Absolute path of the file. */
  readonly path: string
  readonly #map: Mapping
  readonly #header: StHeader
  readonly #byName = new Map<string, StTensor>()
  readonly #metadata: Readonly<Record<string, string>>
  /** Tensors handed out, by name: `tensor(name)` returns the same view while it is open. */
  readonly #taken = new Map<string, MmapArray>()

  static {
    construct = (path, map, header) => new SafetensorsFile(path, map, header)
    initOf = (file, name) => file.#init(name)
  }

  private constructor(path: string, map: Mapping, header: StHeader) {
    this.path = path
    this.#map = map
    this.#header = header
    for (const t of header.tensors) this.#byName.set(t.name, t)
    this.#metadata = Object.freeze(header.metadata)
  }

  /** `'r'`, `'r+'` or `'c'`, as opened. */
  get mode(): Mode {
    return this.#map.mode
  }

  get closed(): boolean {
    return this.#map.closed
  }

  /** The header's `__metadata__` (frozen); `{}` if it has none. */
  get metadata(): Readonly<Record<string, string>> {
    return this.#metadata
  }

  /** Every tensor's name, in the order of their data in the file. */
  names(): string[] {
    return this.#header.tensors.map((t) => t.name)
  }

  /** The tensor's dtype, shape and bytes. Works after `close()` too: it is the header's. */
  info(name: string): SafetensorsTensorInfo {
    const t = this.#tensor(name)
    return {
      dtype: t.dtype ?? t.stDType,
      shape: [...t.shape],
      byteOffset: this.#dataOffset + t.begin,
      byteLength: t.end - t.begin,
    }
  }

  /**
   * A zero-copy view of the tensor, with the dtype and shape of the header; the same object
   * again until it is closed. Closing the file closes it. A dtype memmap does not map is
   * `ERR_MMAP_FORMAT`; data not aligned to its itemsize in the file is `ERR_MMAP_ALIGNMENT`.
   */
  tensor<D extends DType = DType>(name: string): MmapArray<D> {
    const open = this.#taken.get(name)
    if (open !== undefined && !open.closed) return open as MmapArray<D>
    const arr = arrayFromInit(this.#init(name))
    this.#taken.set(name, arr)
    return arr as MmapArray<D>
  }

  /** Unmaps the file: every tensor taken from it is closed. Idempotent. */
  close(): void {
    this.#map.close()
    this.#taken.clear()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** `[name, tensor(name)]` for every tensor, in the order of `names()`. */
  *[Symbol.iterator](): Generator<[string, MmapArray], void, undefined> {
    for (const name of this.names()) yield [name, this.tensor(name)]
  }

  /** @internal */
  [inspect.custom](): string {
    return `SafetensorsFile ${inspect({ path: this.path, tensors: this.#header.tensors.length, mode: this.mode, closed: this.closed })}`
  }

  get #dataOffset(): number {
    return 8 + this.#header.headerLength
  }

  #tensor(name: string): StTensor {
    const t = typeof name === 'string' ? this.#byName.get(name) : undefined
    if (t === undefined) {
      const names = this.names()
      const shown = names.slice(0, 5).map((n) => JSON.stringify(n))
      throw invalidArg(
        `no tensor named ${describe(name)} in this file (it has ${names.length}${names.length > 0 ? `: ${shown.join(', ')}${names.length > 5 ? ', ...' : ''}` : ''})`,
        this.path,
      )
    }
    return t
  }

  /** The mapping and view of one tensor: a window of the file's mapping. */
  #init(name: string): ArrayInit {
    const t = this.#tensor(name)
    if (this.#map.closed) throw mmapError('ERR_MMAP_CLOSED', 'the safetensors file is closed', this.path)
    if (t.dtype === undefined) {
      throw mmapError(
        'ERR_MMAP_FORMAT',
        `tensor ${JSON.stringify(name)} has dtype ${t.stDType}, which memmap cannot view (it reads ${Object.keys(
          ST_NAMES,
        )
          .map((d) => ST_NAMES[d])
          .join(' ')}); info() describes it`,
        this.path,
      )
    }
    const dtype = toDType(t.dtype, this.path)
    const offset = this.#dataOffset + t.begin
    // An empty tensor has no bytes to misalign.
    if (offset % dtype.itemsize !== 0 && t.end > t.begin) {
      throw mmapError(
        'ERR_MMAP_ALIGNMENT',
        `tensor ${JSON.stringify(name)} starts at byte ${offset} of the file, not a multiple of the ${dtype.name} itemsize ${dtype.itemsize}`,
        this.path,
      )
    }
    return { map: this.#map.unmappable(offset, t.end - t.begin), dtype, shape: t.shape }
  }
}

/**
 * Opens a safetensors file: one open and one mapping of it, the header read from that same open
 * and checked in full (`ERR_MMAP_FORMAT` otherwise) before anything is handed out.
 */
export function openSafetensors(path: PathLike, opts?: OpenSafetensorsOptions): SafetensorsFile {
  const p = toPath(path)
  const o = options(opts, 'openSafetensors')
  const mode = oneOf('mode', o.mode ?? 'r', MODES, p)
  return Mapping.openParsed(p, mode, (head, map) => {
    const first = head(8)
    const n = first.length === 8 ? headerLengthOf(first) : 0
    const bytes = first.length === 8 && n > 0 && n <= ST_MAX_HEADER ? head(8 + n) : first
    // A file too short for its header is refused before it is mapped (`head` stops at the end of
    // the file, so its length is the file's): an empty file is never mapped, which Windows refuses.
    if (bytes.length < 8 + n) parseSafetensorsHeader(bytes, bytes.length, p)
    const whole = map(0)
    try {
      return construct(p, whole, parseSafetensorsHeader(bytes, whole.byteLength, p))
    } catch (err) {
      whole.close()
      throw err
    }
  })
}

/** The tensor behind `openSafetensors(path).tensor(name)`, for the CLI's reductions. @internal */
export function tensorInit(file: SafetensorsFile, name: string): ArrayInit {
  return initOf(file, name)
}

/** One tensor to write: its dtype, shape, and how its bytes reach the file. */
interface Source {
  name: string
  dtype: DTypeInfo
  shape: readonly number[]
  byteLength: number
  /** Writes the tensor's bytes at `at` of `map`. */
  write: (map: Mapping, at: number) => void
}

/** Past this, a mapped array is copied a chunk at a time (one typed array might not hold it). */
const WHOLE_COPY = 2 ** 30
/** Elements converted at a time for tensors given by values. */
const BLOCK = 2 ** 16

/**
 * Writes `tensors` as a safetensors file, as the reference writer lays it out: the header padded
 * with spaces to a multiple of 8 bytes, then the tensors back to back by itemsize (largest first,
 * then in the order given), so every tensor is aligned and no byte is left over. The file is
 * built beside `path` and renamed into place once complete and flushed.
 */
export function saveSafetensors(
  path: PathLike,
  tensors: Record<string, MappedArray | TypedArray | SafetensorsValues>,
  opts?: SaveSafetensorsOptions,
): void {
  const p = toPath(path)
  const o = options(opts, 'saveSafetensors')
  if (o.overwrite !== undefined && typeof o.overwrite !== 'boolean') {
    throw invalidArg(`overwrite must be a boolean, got ${describe(o.overwrite)}`, p)
  }
  if (!isRecord(tensors)) {
    throw invalidArg(`tensors must be an object of name: tensor, got ${describe(tensors)}`, p)
  }
  const metadata = toMetadata(o.metadata, p)
  const sources = Object.entries(tensors).map(([name, t]) => source(name, t, p))
  // Stable: equal itemsizes keep the caller's order.
  sources.sort((a, b) => b.dtype.itemsize - a.dtype.itemsize)
  const entries: StEntry[] = []
  let end = 0
  for (const s of sources) {
    entries.push({ name: s.name, stDType: ST_NAMES[s.dtype.name], shape: s.shape, begin: end, end: end + s.byteLength })
    end += s.byteLength
  }
  let header: Uint8Array
  try {
    header = buildSafetensorsHeader(metadata, entries)
  } catch (err) {
    throw invalidArg((err as Error).message, p)
  }
  const write = (map: Mapping): void => {
    map.write(0, header)
    sources.forEach((s, i) => s.write(map, header.length + entries[i].begin))
  }
  Mapping.create(p, header.length + end, o.overwrite === true, write).close()
}

function isRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Strings the reference reads back as written: a lone surrogate would become an escape it refuses. */
function wellFormed(s: string, what: string, path: string): string {
  if (/\p{Cs}/u.test(s))
    throw invalidArg(`${what} ${JSON.stringify(s)} has a lone surrogate, which safetensors cannot hold`, path)
  return s
}

function toMetadata(value: unknown, path: string): Record<string, string> {
  if (value === undefined) return {}
  if (!isRecord(value)) throw invalidArg(`metadata must be an object of strings, got ${describe(value)}`, path)
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw invalidArg(
        `metadata values must be strings (safetensors allows no other), got ${describe(v)} for ${JSON.stringify(k)}`,
        path,
      )
    }
    Object.defineProperty(out, wellFormed(k, 'the metadata key', path), {
      value: wellFormed(v, 'the metadata value', path),
      enumerable: true,
    })
  }
  return out
}

function source(name: string, t: unknown, path: string): Source {
  if (name === '__metadata__') {
    throw invalidArg("'__metadata__' is the header's metadata, not a tensor name: pass metadata in the options", path)
  }
  wellFormed(name, 'the tensor name', path)
  const base = { name }
  if (t instanceof MappedArray) {
    const dtype = DTYPES[t.dtype as DType]
    return {
      ...base,
      dtype,
      shape: [...t.shape],
      byteLength: t.byteLength,
      write: (map, at) => {
        if (t.byteLength <= WHOLE_COPY || t.ndim === 0) {
          map.write(at, bytesOf(t, path))
          return
        }
        for (const chunk of t.chunks(Math.max(1, Math.floor(WHOLE_COPY / (t.byteLength / t.length))))) {
          map.write(at + (chunk.start * t.byteLength) / t.length, bytesOf(chunk.data, path))
        }
      },
    }
  }
  if (ArrayBuffer.isView(t) && !(t instanceof DataView)) {
    const a = t as TypedArray
    const dtype = dtypeOfArray(a)
    const data = bytesOf(a, path)
    return { ...base, dtype, shape: [a.length], byteLength: data.byteLength, write: (map, at) => map.write(at, data) }
  }
  if (isRecord(t) && 'data' in t) {
    if (t.dtype === undefined) throw invalidArg(`tensor ${JSON.stringify(name)} needs a dtype with its data`, path)
    const dtype = toDType(t.dtype, path)
    const src = flatten(t.data, path)
    const shape = t.shape === undefined ? src.shape : toShape(t.shape, dtype, path)
    const count = product(shape)
    if (count !== src.values.length) {
      throw invalidArg(
        `tensor ${JSON.stringify(name)}: shape [${shape.join(', ')}] holds ${count} elements, the data has ${src.values.length}`,
        path,
      )
    }
    return {
      ...base,
      dtype,
      shape,
      byteLength: count * dtype.itemsize,
      write: (map, at) => {
        const block = new dtype.ctor(Math.min(count, BLOCK))
        for (let i = 0; i < count; i += BLOCK) {
          const k = Math.min(BLOCK, count - i)
          const part = block.subarray(0, k)
          copyElements(part, slice(src.values, i, i + k), src.dtype, dtype, path)
          map.write(at + i * dtype.itemsize, bytesOf(part, path))
        }
      },
    }
  }
  throw invalidArg(
    `tensor ${JSON.stringify(name)} must be an MmapArray, a typed array or { dtype, shape, data }, got ${describe(t)}`,
    path,
  )
}

function slice(values: TypedArray | ArrayLike<unknown>, from: number, to: number): TypedArray | ArrayLike<unknown> {
  if (ArrayBuffer.isView(values)) return (values as TypedArray).subarray(from, to)
  return Array.prototype.slice.call(values, from, to)
}
