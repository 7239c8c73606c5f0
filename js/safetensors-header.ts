// The header of Hugging Face's safetensors format: a strict, bounded reader and the writer's layout.
// https://huggingface.co/docs/safetensors (format), safetensors/src/tensor.rs (the reference reader)
//
// The reader is never looser than the reference (Python safetensors 0.8.0, serde_json underneath),
// found by testing it: integers are plain JSON integers (`1.0`, `1e0`, `-0` are refused where an
// integer is expected), strings are well-formed (no lone surrogates, no control characters), the
// JSON is RFC 8259 with nothing before or after but whitespace, metadata values are strings,
// `data_offsets` has two entries, and the non-empty tensors tile the data exactly. It is stricter
// where that costs no real file: integers must be safe (at most 2**53 - 1), a duplicate key
// anywhere it interprets the header (the reference keeps the last one) is refused, `dtype` must be
// a string, and nesting is at most 64 deep (serde_json's limit is 128). It is looser in two
// documented ways: an empty tensor's range may sit anywhere inside the data, and a dtype it does
// not know is listed (by its name) rather than refused.
import { invalidArg, mmapError, type MmapError } from './errors.js'

/** The reference reader's limit on the header's length (`MAX_HEADER_SIZE`), and so ours. */
export const ST_MAX_HEADER = 100_000_000

/** A safetensors dtype: its size in bits and, where memmap has it, the canonical dtype it maps to. */
interface StDType {
  readonly bits: number
  readonly dtype?: string
}

/**
 * Every dtype the reference knows (its `Dtype` enum, 0.8.0), with its size; those memmap maps
 * carry the canonical name. A name outside this table has an unknown size.
 */
export const ST_DTYPES: Readonly<Record<string, StDType>> = {
  BOOL: { bits: 8, dtype: 'bool' },
  U8: { bits: 8, dtype: 'uint8' },
  I8: { bits: 8, dtype: 'int8' },
  U16: { bits: 16, dtype: 'uint16' },
  I16: { bits: 16, dtype: 'int16' },
  F16: { bits: 16, dtype: 'float16' },
  BF16: { bits: 16, dtype: 'bfloat16' },
  U32: { bits: 32, dtype: 'uint32' },
  I32: { bits: 32, dtype: 'int32' },
  F32: { bits: 32, dtype: 'float32' },
  U64: { bits: 64, dtype: 'uint64' },
  I64: { bits: 64, dtype: 'int64' },
  F64: { bits: 64, dtype: 'float64' },
  F4: { bits: 4 },
  F6_E2M3: { bits: 6 },
  F6_E3M2: { bits: 6 },
  F8_E5M2: { bits: 8 },
  F8_E4M3: { bits: 8 },
  F8_E8M0: { bits: 8 },
  F8_E4M3FNUZ: { bits: 8 },
  F8_E5M2FNUZ: { bits: 8 },
  C64: { bits: 64 },
}

/** The safetensors name of each canonical dtype memmap maps. */
export const ST_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ST_DTYPES).flatMap(([name, d]) => (d.dtype === undefined ? [] : [[d.dtype, name]])),
)

export interface StTensor {
  name: string
  /** The dtype as the header spells it (`'F32'`, `'F8_E4M3'`). */
  stDType: string
  /** The canonical dtype, or undefined for one memmap does not map. */
  dtype: string | undefined
  shape: number[]
  /** `data_offsets`, relative to the start of the data. */
  begin: number
  end: number
}

export interface StHeader {
  /** The JSON's length in bytes (N); the data starts at 8 + N. */
  headerLength: number
  metadata: Record<string, string>
  /** In the order of their data in the file (begin, then end, then name). */
  tensors: StTensor[]
}

/** How deep arrays and objects may nest: serde_json, under the reference, allows 128. */
const MAX_DEPTH = 64

type Bad = (message: string) => MmapError

/** A JSON value with what the header checks need: numbers kept as written, keys with duplicates. */
type Json =
  | { kind: 'object'; at: number; entries: [string, Json][] }
  | { kind: 'array'; at: number; items: Json[] }
  | { kind: 'string'; at: number; value: string }
  | { kind: 'number'; at: number; text: string }
  | { kind: 'literal'; at: number; text: 'true' | 'false' | 'null' }

/**
 * The length field: the first 8 bytes as a u64 (little-endian). Past 2**53 it is not exact, but
 * then it is far over the limit anyway.
 */
export function headerLengthOf(first8: Uint8Array): number {
  const view = new DataView(first8.buffer, first8.byteOffset, 8)
  return view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32
}

/**
 * Checks the header and the file it heads (`fileSize` bytes), everything before any tensor is
 * handed out: the length field, the JSON, the schema, every byte range and size. `head` holds at
 * least the file's first 8 + N bytes if the file has them.
 */
export function parseSafetensorsHeader(
  head: Uint8Array,
  fileSize: number,
  path?: string,
  /** @internal the tests compare both ways of reading the JSON */
  json: 'fast' | 'exact' = 'fast',
): StHeader {
  const bad: Bad = (message) => mmapError('ERR_MMAP_FORMAT', `not a valid safetensors file: ${message}`, path)
  if (fileSize < 8 || head.length < 8) {
    throw bad(`expected at least 8 bytes (the header length), found a file of ${fileSize} bytes`)
  }
  const n = headerLengthOf(head)
  if (n > ST_MAX_HEADER) {
    throw bad(`expected a header length of at most ${ST_MAX_HEADER} bytes, found ${n}`)
  }
  if (8 + n > fileSize || head.length < 8 + n) {
    throw bad(`the header length field says ${n} bytes, but the file has only ${fileSize - 8} after it`)
  }
  let text: string
  try {
    // ignoreBOM keeps a byte-order mark in the text, where the JSON parser refuses it, as the reference does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(head.subarray(8, 8 + n))
  } catch {
    throw bad('expected a UTF-8 header, found invalid UTF-8')
  }
  const plain = json === 'fast' ? parsePlain(text) : undefined
  const { metadata, tensors } =
    (plain && readFast(plain)) ?? readSchema((plain && toTree(plain)) ?? parseJson(text, bad), bad)
  const dataLength = fileSize - 8 - n
  checkLayout(tensors, dataLength, bad)
  return { headerLength: n, metadata, tensors }
}

/** The header object: `__metadata__` (string values) and one entry per tensor. */
function readSchema(root: Json, bad: Bad): Pick<StHeader, 'metadata' | 'tensors'> {
  if (root.kind !== 'object') throw bad(`expected a JSON object at the top of the header, found ${kindOf(root)}`)
  const seen = new Set<string>()
  let metadata: Record<string, string> = {}
  const tensors: StTensor[] = []
  for (const [key, value] of root.entries) {
    if (seen.has(key)) throw bad(`duplicate key ${show(key)} in the header`)
    seen.add(key)
    if (key === '__metadata__') {
      metadata = readMetadata(value, bad)
    } else {
      tensors.push(readTensor(key, value, bad))
    }
  }
  // Ties (empty tensors at one offset) by name: JSON.parse would not keep the header's order of
  // integer-like names, so neither does the exact path.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { metadata, tensors }
}

function readMetadata(value: Json, bad: Bad): Record<string, string> {
  // The reference reads `null` as no metadata.
  if (value.kind === 'literal' && value.text === 'null') return {}
  if (value.kind !== 'object') throw bad(`expected an object of strings for '__metadata__', found ${kindOf(value)}`)
  const metadata: Record<string, string> = {}
  for (const [k, v] of value.entries) {
    if (Object.hasOwn(metadata, k)) throw bad(`duplicate key ${show(k)} in '__metadata__'`)
    if (v.kind !== 'string') {
      throw bad(`expected a string for '__metadata__' entry ${show(k)}, found ${kindOf(v)}${offsetOf(v)}`)
    }
    Object.defineProperty(metadata, k, { value: v.value, enumerable: true, writable: true, configurable: true })
  }
  return metadata
}

function readTensor(name: string, value: Json, bad: Bad): StTensor {
  const where = `tensor ${show(name)}`
  if (value.kind !== 'object') throw bad(`expected an object for ${where}, found ${kindOf(value)}`)
  const fields = new Map<string, Json>()
  for (const [k, v] of value.entries) {
    // Other fields are ignored, as the reference ignores them (but they are valid JSON).
    if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') continue
    if (fields.has(k)) throw bad(`duplicate field '${k}' in ${where}`)
    fields.set(k, v)
  }
  const field = (k: string): Json => {
    const v = fields.get(k)
    if (v === undefined) throw bad(`${where} has no '${k}'`)
    return v
  }
  const dtype = field('dtype')
  if (dtype.kind !== 'string') throw bad(`expected a string for the dtype of ${where}, found ${kindOf(dtype)}`)
  const shape = integers(field('shape'), `the shape of ${where}`, bad)
  const offsets = integers(field('data_offsets'), `the data_offsets of ${where}`, bad)
  if (offsets.length !== 2) {
    throw bad(`expected 2 data_offsets [begin, end] for ${where}, found ${offsets.length}`)
  }
  const [begin, end] = offsets
  const known = Object.hasOwn(ST_DTYPES, dtype.value) ? ST_DTYPES[dtype.value] : undefined
  return { name, stDType: dtype.value, dtype: known?.dtype, shape, begin, end }
}

/** An array of non-negative integers, each written as a plain JSON integer and at most 2**53 - 1. */
function integers(value: Json, what: string, bad: Bad): number[] {
  if (value.kind !== 'array') throw bad(`expected an array of integers for ${what}, found ${kindOf(value)}`)
  return value.items.map((item) => {
    if (item.kind !== 'number' || !/^(0|[1-9][0-9]*)$/.test(item.text)) {
      throw bad(
        `expected a non-negative integer in ${what}, found ${item.kind === 'number' ? item.text : kindOf(item)}${offsetOf(item)}`,
      )
    }
    const n = Number(item.text)
    if (!Number.isSafeInteger(n)) throw bad(`${item.text} in ${what} is over 2**53 - 1`)
    return n
  })
}

/**
 * Every range inside the data and of exactly the size its dtype and shape make; the non-empty
 * ones (sorted) tiling the data from 0 to its end, with no gap, overlap or trailing byte.
 */
function checkLayout(tensors: readonly StTensor[], dataLength: number, bad: Bad): void {
  let covered = 0
  for (const t of tensors) {
    const where = `tensor ${show(t.name)}`
    if (t.begin > t.end || t.end > dataLength) {
      throw bad(
        `the data_offsets [${t.begin}, ${t.end}] of ${where} are not a range inside the ${dataLength} bytes of data`,
      )
    }
    const bits = Object.hasOwn(ST_DTYPES, t.stDType) ? ST_DTYPES[t.stDType].bits : undefined
    if (bits !== undefined) {
      const count = elementCount(t.shape)
      const size = count === undefined ? undefined : (count * bits) / 8
      if (size === undefined || !Number.isSafeInteger(size)) {
        throw bad(
          `the shape [${t.shape.join(', ')}] of ${where} (${t.stDType}) is not a whole number of bytes under 2**53`,
        )
      }
      if (t.end - t.begin !== size) {
        throw bad(
          `${where} (${t.stDType}, shape [${t.shape.join(', ')}]) needs ${size} bytes, its data_offsets [${t.begin}, ${t.end}] hold ${t.end - t.begin}`,
        )
      }
    }
    if (t.begin === t.end) continue
    if (t.begin !== covered) {
      throw bad(
        t.begin < covered
          ? `${where} at data_offsets [${t.begin}, ${t.end}] overlaps the tensor before it, which ends at ${covered}`
          : `a gap in the data: bytes ${covered} to ${t.begin} belong to no tensor`,
      )
    }
    covered = t.end
  }
  if (covered !== dataLength) {
    throw bad(`the tensors cover ${covered} of the ${dataLength} bytes of data after the header`)
  }
}

/** The number of elements, or undefined when that is not a safe integer. */
function elementCount(shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0
  let count = 1
  for (const d of shape) {
    count *= d
    if (!Number.isSafeInteger(count)) return undefined
  }
  return count
}

/** Where a value is in the header, for messages (values read by `toTree` have no offset). */
const offsetOf = (v: Json): string => (v.at < 0 ? '' : ` at header offset ${v.at}`)

const show = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s)

function kindOf(v: Json): string {
  if (v.kind === 'literal') return v.text
  if (v.kind === 'number') return `the number ${v.text.length > 30 ? `${v.text.slice(0, 30)}...` : v.text}`
  if (v.kind === 'string') return `the string ${show(v.value)}`
  return `an ${v.kind}`
}

/**
 * One JSON token after optional whitespace: a string (escapes as RFC 8259 lists them, no raw
 * control character), a number, a punctuation mark or a literal: a whole token per native match,
 * not a character per step of (cold, interpreted) JavaScript.
 */
const TOKEN =
  // oxlint-disable-next-line no-control-regex -- JSON strings may not hold raw control characters
  /[ \t\n\r]*(?:("(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![0-9.eE])|([{}[\]:,])|(true|false|null))/y
/** A `\u` escape of a UTF-16 surrogate, high (group 1) or low (group 2), after an even run of backslashes. */
const SURROGATE = /(?<!\\)(?:\\\\)*\\u(?:(d[89ab][0-9a-f]{2})|(d[c-f][0-9a-f]{2}))/gi

/**
 * RFC 8259 JSON, as strictly as serde_json reads it: only whitespace around the value, no
 * trailing commas, escapes as listed, no raw control characters, surrogates in pairs, numbers
 * that are finite as a double.
 */
function parseJson(text: string, bad: Bad): Json {
  let i = 0
  let kind = 0 // which group of TOKEN matched: 1 string, 2 number, 3 punctuation, 4 literal
  let token = ''
  let tokenAt = 0
  const next = (): void => {
    TOKEN.lastIndex = i
    const m = TOKEN.exec(text)
    if (m === null) {
      let j = i
      while (j < text.length && ' \t\n\r'.includes(text[j])) j++
      tokenAt = j
      kind = j >= text.length ? 0 : -1
      token = ''
      return
    }
    kind = m[1] !== undefined ? 1 : m[2] !== undefined ? 2 : m[3] !== undefined ? 3 : 4
    token = m[kind]
    tokenAt = TOKEN.lastIndex - token.length
    i = TOKEN.lastIndex
  }
  /** Whether the current token is the punctuation mark `p` (a function: `next()` changes the token). */
  const is = (p: string): boolean => kind === 3 && token === p
  const isString = (): boolean => kind === 1
  const expected = (what: string): MmapError => {
    const found = kind === 0 ? 'the end' : kind === -1 ? JSON.stringify(text.slice(tokenAt, tokenAt + 10)) : token
    return bad(`invalid JSON in the header: expected ${what} at header offset ${tokenAt}, found ${found}`)
  }
  const string = (raw: string): string => {
    if (!raw.includes('\\')) return raw.slice(1, -1)
    if (raw.includes('\\u')) checkSurrogates(raw, tokenAt, bad)
    return JSON.parse(raw) as string
  }
  const value = (depth: number): Json => {
    next()
    const at = tokenAt
    if (kind === 1) return { kind: 'string', at, value: string(token) }
    if (kind === 2) {
      // serde_json refuses numbers out of a double's range; a margin keeps rounding differences out.
      if (!(Math.abs(Number(token)) < 1.7e308)) throw bad(`invalid JSON in the header: number ${token} out of range`)
      return { kind: 'number', at, text: token }
    }
    if (kind === 4) return { kind: 'literal', at, text: token as 'true' | 'false' | 'null' }
    if (kind !== 3 || (token !== '{' && token !== '[')) throw expected('a JSON value')
    if (depth >= MAX_DEPTH) throw bad(`the header's JSON nests deeper than ${MAX_DEPTH} levels`)
    const open: string = token
    const close = open === '{' ? '}' : ']'
    const entries: [string, Json][] = []
    const items: Json[] = []
    const mark = i
    next()
    if (is(close)) return open === '{' ? { kind: 'object', at, entries } : { kind: 'array', at, items }
    i = mark
    for (;;) {
      if (open === '{') {
        next()
        if (!isString()) throw expected('a quoted key')
        const key = string(token)
        next()
        if (!is(':')) throw expected("':'")
        entries.push([key, value(depth + 1)])
      } else {
        items.push(value(depth + 1))
      }
      next()
      if (is(',')) continue
      if (is(close)) break
      throw expected(`',' or '${close}'`)
    }
    return open === '{' ? { kind: 'object', at, entries } : { kind: 'array', at, items }
  }
  const root = value(0)
  next()
  if (kind !== 0) throw expected('nothing after the JSON value but whitespace')
  return root
}

/** Every JSON string, escapes and all, for `parsePlain` to blank out. */
const STRINGS = /"(?:[^"\\]|\\.)*"/g
/** Outside strings: a number that is negative, fractional, has an exponent, or 16 digits or more. */
const NOT_PLAIN_INTEGER = /-|[0-9][.eE]|[0-9]{16}/
/** A `\u` escape of a surrogate anywhere (even after an escaped backslash: then the exact path decides). */
const ANY_SURROGATE = /\\u[dD][89a-fA-F]/
/** A key, once strings are blanked out. */
const KEY = /""[ \t\n\r]*:/g

/** JSON.parse's value and the number of keys in the text. */
interface Plain {
  value: unknown
  keys: number
}

/**
 * The usual header read with the runtime's JSON.parse, where that cannot be looser than
 * `parseJson`: most of the work is then native. Undefined, for `parseJson` to decide with its
 * exact messages, when the JSON does not parse, has a number other than a plain integer under
 * 2**53 (JSON.parse reads `1.0` as 1) or a surrogate escape (it accepts lone ones). `keys` is
 * how many keys the text has: JSON.parse keeps only the last of duplicates, so a result with
 * fewer is refused by `toTree` and `readFast` alike (and depth by `toTree`).
 */
function parsePlain(text: string): Plain | undefined {
  // includes() first: a native search, where a regex's first run over a long text is interpreted (2.5 ms for 36 KB).
  if (text.includes('\\u') && ANY_SURROGATE.test(text)) return undefined
  const blanked = text.replace(STRINGS, '""')
  if (NOT_PLAIN_INTEGER.test(blanked)) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  KEY.lastIndex = 0
  return { value, keys: blanked.match(KEY)?.length ?? 0 }
}

/** `parsePlain`'s value as a tree for `readSchema`, or undefined if it nests too deep or lost a duplicate key. */
function toTree(plain: Plain): Json | undefined {
  let keys = 0
  const convert = (v: unknown, depth: number): Json | undefined => {
    if (typeof v === 'string') return { kind: 'string', at: -1, value: v }
    if (typeof v === 'number') return { kind: 'number', at: -1, text: String(v) }
    if (v === null || typeof v === 'boolean') return { kind: 'literal', at: -1, text: String(v) as 'null' }
    if (depth >= MAX_DEPTH) return undefined
    if (Array.isArray(v)) {
      const items: Json[] = []
      for (const item of v) {
        const j = convert(item, depth + 1)
        if (j === undefined) return undefined
        items.push(j)
      }
      return { kind: 'array', at: -1, items }
    }
    const entries: [string, Json][] = []
    for (const k of Object.keys(v as object)) {
      const j = convert((v as Record<string, unknown>)[k], depth + 1)
      if (j === undefined) return undefined
      entries.push([k, j])
      keys++
    }
    return { kind: 'object', at: -1, entries }
  }
  const root = convert(plain.value, 0)
  return root !== undefined && keys === plain.keys ? root : undefined
}

/**
 * The schema of the usual header read straight from JSON.parse's result, with no tree between:
 * what a first open in a new process pays for most (V8 has compiled nothing yet). It accepts
 * only what `readSchema(toTree(plain))` accepts, with the same result, and leaves everything
 * else (anything unusual, every error) to that path: `parsePlain`'s guards on the text,
 * and no value in an ignored field other than a string, number, boolean or null, so that the
 * keys counted are all the keys there are. The fuzz test runs both on every input.
 */
function readFast(plain: Plain): Pick<StHeader, 'metadata' | 'tensors'> | undefined {
  const root = plain.value
  if (!isPlainObject(root)) return undefined
  let keys = 0
  let metadata: Record<string, string> = {}
  const tensors: StTensor[] = []
  for (const name of Object.keys(root)) {
    keys++
    const value = root[name]
    if (name === '__metadata__') {
      if (value === null) continue
      if (!isPlainObject(value)) return undefined
      metadata = {}
      for (const k of Object.keys(value)) {
        keys++
        const v = value[k]
        if (typeof v !== 'string') return undefined
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true })
      }
      continue
    }
    if (!isPlainObject(value)) return undefined
    let dtype: unknown, shape: unknown, offsets: unknown
    for (const k of Object.keys(value)) {
      keys++
      const v = value[k]
      if (k === 'dtype') dtype = v
      else if (k === 'shape') shape = v
      else if (k === 'data_offsets') offsets = v
      else if (v !== null && typeof v === 'object') return undefined
    }
    if (typeof dtype !== 'string' || !isIntegers(shape) || !isIntegers(offsets) || offsets.length !== 2) {
      return undefined
    }
    const known = Object.hasOwn(ST_DTYPES, dtype) ? ST_DTYPES[dtype] : undefined
    tensors.push({ name, stDType: dtype, dtype: known?.dtype, shape, begin: offsets[0], end: offsets[1] })
  }
  if (keys !== plain.keys) return undefined
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { metadata, tensors }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

/** Numbers only: the text guards have made every number in the header a plain integer under 2**53. */
const isIntegers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number')

/** serde_json refuses a `\u` surrogate escape that is not a high one followed by a low one. */
function checkSurrogates(raw: string, at: number, bad: Bad): void {
  let pendingHigh = -1 // where the last high surrogate's escape ended, if unpaired so far
  SURROGATE.lastIndex = 0
  for (let m = SURROGATE.exec(raw); m !== null; m = SURROGATE.exec(raw)) {
    const start = SURROGATE.lastIndex - 6
    if (m[1] !== undefined) {
      if (pendingHigh >= 0) break
      pendingHigh = SURROGATE.lastIndex
    } else {
      if (pendingHigh !== start) {
        pendingHigh = -2
        break
      }
      pendingHigh = -1
    }
  }
  if (pendingHigh !== -1) {
    throw bad(`invalid JSON in the header: a lone surrogate escape in the string at header offset ${at}`)
  }
}

export interface StEntry {
  name: string
  stDType: string
  shape: readonly number[]
  begin: number
  end: number
}

/**
 * The 8-byte length and the JSON header, as the reference writer lays them out: `__metadata__`
 * first (if any), then the tensors in `entries`' order, padded with spaces so that the data
 * starts at a multiple of 8 bytes.
 */
export function buildSafetensorsHeader(
  metadata: Readonly<Record<string, string>>,
  entries: readonly StEntry[],
): Uint8Array {
  // Written by hand, not from an object: JavaScript would move integer-like names to the front.
  const parts: string[] = []
  if (Object.keys(metadata).length > 0) parts.push(`"__metadata__":${JSON.stringify(metadata)}`)
  for (const e of entries) {
    const info = { dtype: e.stDType, shape: [...e.shape], data_offsets: [e.begin, e.end] }
    parts.push(`${JSON.stringify(e.name)}:${JSON.stringify(info)}`)
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`)
  const n = Math.ceil(json.length / 8) * 8
  if (n > ST_MAX_HEADER) {
    throw invalidArg(`the safetensors header would be ${n} bytes, over the format's limit of ${ST_MAX_HEADER}`)
  }
  const out = new Uint8Array(8 + n).fill(0x20)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(n), true)
  out.set(json, 8)
  return out
}
