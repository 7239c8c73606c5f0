// The header of numpy's .npy format: a strict, bounded reader, and a writer that matches np.save.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { invalidArg, mmapError, type MmapError } from './errors.js'

export interface NpyHeader {
  /** `[1, 0]`, `[2, 0]` or `[3, 0]`. */
  version: [number, number]
  /** The dtype descriptor, verbatim (`'<f8'`); mapping it to a dtype is the caller's job. */
  descr: string
  /** Always false: Fortran-order files are rejected. */
  fortranOrder: boolean
  shape: number[]
  /** Where the array data starts in the file. */
  dataOffset: number
}

/**
 * The longest header numpy's reader accepts (its `max_header_size`), and so ours. It bounds all
 * the work: a caller never needs more than the file's first NPY_MAX_HEADER + 12 bytes.
 */
export const NPY_MAX_HEADER = 10_000

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
const ALIGN = 64
/** np.save leaves room for the first dimension to grow to this many digits (rewriting in place). */
const GROWTH_AXIS_MAX_DIGITS = 21

type Bad = (message: string) => MmapError

/** Parses the header at the start of `bytes` (which may be just the first NPY_MAX_HEADER+12 bytes of the file). */
export function parseNpyHeader(bytes: Uint8Array, path?: string): NpyHeader {
  const bad: Bad = (message) => mmapError('ERR_MMAP_FORMAT', `not a valid .npy file: ${message}`, path)
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')
    throw bad(`expected the magic string \\x93NUMPY and a version, found ${head ? `bytes ${head}` : 'no bytes'}`)
  }
  const major = bytes[6]
  const minor = bytes[7]
  if (minor !== 0 || major < 1 || major > 3) {
    throw bad(`expected format version 1.0, 2.0 or 3.0, found ${major}.${minor}`)
  }
  const lengthSize = major === 1 ? 2 : 4
  const start = 8 + lengthSize
  if (bytes.length < start) throw bad(`expected a ${lengthSize}-byte header length, found ${bytes.length - 8} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = lengthSize === 2 ? view.getUint16(8, true) : view.getUint32(8, true)
  if (headerLength > NPY_MAX_HEADER) {
    throw bad(`expected a header of at most ${NPY_MAX_HEADER} bytes (numpy's limit), found ${headerLength}`)
  }
  if (bytes.length < start + headerLength) {
    throw bad(`the header is cut off: ${headerLength} bytes declared, ${bytes.length - start} present`)
  }
  const text = decode(bytes.subarray(start, start + headerLength), major, bad)
  if (!text.endsWith('\n')) throw bad(`expected the header to end with '\\n', found ${JSON.stringify(text.slice(-1))}`)
  return { version: [major, minor], ...parseDict(text, bad), dataOffset: start + headerLength }
}

/** Versions 1.0 and 2.0 are latin-1 (numpy writes ASCII); 3.0 is UTF-8. */
function decode(raw: Uint8Array, major: number, bad: Bad): string {
  if (major !== 3) return String.fromCharCode(...raw) // at most NPY_MAX_HEADER arguments
  try {
    // ignoreBOM keeps a byte-order mark in the text, where the tokenizer rejects it as Python would.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw)
  } catch {
    throw bad('expected a UTF-8 header (format 3.0), found invalid UTF-8')
  }
}

interface Token {
  kind: 'punct' | 'string' | 'word' | 'end'
  /** The punctuation, the string's contents, or the word. */
  text: string
  /** Offset in the header text, for messages. */
  at: number
}

const SPACE = ' \t\n\r\f'
/** `[` and `]` are tokens only so that a list (a structured dtype's descr) gets a clear message. */
const PUNCT = '{}()[]:,'
/** Names and numbers. Signs and dots are included so `-3` and `3.0` reach the parser whole. */
const WORD = /[\w.+-]/ // \w is ASCII-only without the u flag

/**
 * Splits the Python literal numpy writes with `repr` into tokens. Strings may use either quote but
 * no escapes (numpy's descrs need none); comments, line continuations and anything else fail.
 */
function tokenize(text: string, bad: Bad): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    if (SPACE.includes(ch)) {
      i++
    } else if (PUNCT.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch, at: i++ })
    } else if (ch === "'" || ch === '"') {
      let end = i + 1
      while (end < text.length && text[end] !== ch && !'\\\n\r'.includes(text[end])) end++
      if (text[end] !== ch) throw bad(`unterminated string at header offset ${i} (escapes are not supported)`)
      tokens.push({ kind: 'string', text: text.slice(i + 1, end), at: i })
      i = end + 1
    } else if (WORD.test(ch)) {
      let end = i + 1
      while (end < text.length && WORD.test(text[end])) end++
      tokens.push({ kind: 'word', text: text.slice(i, end), at: i })
      i = end
    } else {
      throw bad(`unexpected ${JSON.stringify(ch)} at header offset ${i}`)
    }
  }
  tokens.push({ kind: 'end', text: '', at: text.length })
  return tokens
}

const KEYS = ['descr', 'fortran_order', 'shape']

/**
 * The dict, in one pass over the tokens: exactly the three keys, in any order, each with the one
 * value type numpy allows; trailing commas where Python allows them. Nothing nests (no recursion),
 * so the work is linear in the bounded header.
 */
function parseDict(text: string, bad: Bad): Pick<NpyHeader, 'descr' | 'fortranOrder' | 'shape'> {
  const tokens = tokenize(text, bad)
  let pos = 0 // never moves past the 'end' token: nothing below accepts it
  const is = (punct: string) => tokens[pos].kind === 'punct' && tokens[pos].text === punct
  const expected = (what: string) => {
    const t = tokens[pos]
    const shown = t.text.length > 40 ? `${t.text.slice(0, 40)}...` : t.text
    const found = t.kind === 'end' ? 'the end' : t.kind === 'string' ? `the string '${shown}'` : `'${shown}'`
    return bad(`expected ${what} at header offset ${t.at}, found ${found}`)
  }
  const eat = (punct: string) => {
    if (!is(punct)) throw expected(`'${punct}'`)
    pos++
  }

  let descr = ''
  const shape: number[] = []
  const seen = new Set<string>()
  eat('{')
  while (!is('}')) {
    const key = tokens[pos]
    if (key.kind !== 'string') throw expected("a quoted key or '}'")
    if (!KEYS.includes(key.text)) throw bad(`unexpected key '${key.text}' (expected 'descr', 'fortran_order', 'shape')`)
    if (seen.has(key.text)) throw bad(`duplicate key '${key.text}'`)
    seen.add(key.text)
    pos++
    eat(':')
    const value = tokens[pos]
    if (key.text === 'descr') {
      if (is('[')) throw bad("structured dtypes (a list 'descr') are not supported")
      if (value.kind !== 'string') throw expected("a string for 'descr'")
      descr = value.text
      pos++
    } else if (key.text === 'fortran_order') {
      if (value.kind !== 'word' || (value.text !== 'True' && value.text !== 'False')) {
        throw expected("True or False for 'fortran_order'")
      }
      if (value.text === 'True') throw bad('Fortran-order arrays are not supported: save the array in C order')
      pos++
    } else {
      eat('(')
      let comma = false // Python reads `(5)` as 5, not a tuple: one element needs its comma
      while (!is(')')) {
        const dim = tokens[pos]
        if (dim.kind !== 'word' || !/^(0|[1-9][0-9]*)$/.test(dim.text)) {
          throw expected("a non-negative integer or ')' in 'shape'")
        }
        const n = Number(dim.text)
        if (!Number.isSafeInteger(n)) throw bad(`shape entry ${dim.text} is over 2**53 - 1`)
        shape.push(n)
        pos++
        comma = is(',')
        if (comma) pos++
        else if (!is(')')) throw expected("',' or ')' in 'shape'")
      }
      if (shape.length === 1 && !comma) throw bad(`expected a tuple for 'shape', found (${shape[0]}) without a comma`)
      pos++
    }
    if (!is('}')) eat(',')
  }
  pos++
  if (tokens[pos].kind !== 'end') throw expected('nothing after the dict')
  const missing = KEYS.filter((k) => !seen.has(k))
  if (missing.length > 0) throw bad(`missing key${missing.length > 1 ? 's' : ''} '${missing.join("', '")}'`)
  if (elementCount(shape) === undefined) throw bad(`shape (${shape.join(', ')}) has over 2**53 - 1 elements`)
  return { descr, fortranOrder: false, shape }
}

/** The number of elements, or undefined when that is not a safe integer. */
function elementCount(shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0 // (2**40, 2**40, 0) is empty, however large its prefix's product
  let count = 1
  for (const d of shape) {
    count *= d
    if (!Number.isSafeInteger(count)) return undefined
  }
  return count
}

/**
 * A complete header (magic .. final '\n') for `descr` and C-order `shape`, byte for byte what
 * np.save writes: 1 to 64 spaces of padding so its length is a multiple of 64. Version 1.0, or 3.0
 * (UTF-8) if the text is not ASCII. Version 2.0 exists for headers over 64 KiB, which numpy refuses
 * to read past NPY_MAX_HEADER anyway, so such a header is refused here instead.
 */
export function buildNpyHeader(descr: string, shape: readonly number[]): Uint8Array {
  // What repr() would write between single quotes unchanged, so the parser reads it back.
  if (!/^[^'\\\p{Cc}\p{Cs}]*$/u.test(descr)) {
    throw invalidArg(`cannot write the descr ${JSON.stringify(descr)} in a .npy header`)
  }
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || elementCount(shape) === undefined) {
    throw invalidArg(
      `expected a shape of non-negative integers with at most 2**53 - 1 elements, got [${shape.join(', ')}]`,
    )
  }
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  const growth = shape.length === 0 ? 0 : GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length
  const text = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }${' '.repeat(growth)}`
  const body = new TextEncoder().encode(text)
  const major = body.some((b) => b >= 0x80) ? 3 : 1
  const prefix = major === 1 ? 10 : 12
  const unpadded = prefix + body.length + 1 // + '\n'
  const total = unpadded + ALIGN - (unpadded % ALIGN)
  const headerLength = total - prefix
  if (headerLength > NPY_MAX_HEADER) {
    throw invalidArg(
      `a .npy header for ${shape.length} dimensions would be ${headerLength} bytes, over numpy's limit of ${NPY_MAX_HEADER}`,
    )
  }
  const out = new Uint8Array(total).fill(0x20)
  out.set(MAGIC)
  out[6] = major
  out[7] = 0
  const view = new DataView(out.buffer)
  if (major === 1) view.setUint16(8, headerLength, true)
  else view.setUint32(8, headerLength, true)
  out.set(body, prefix)
  out[total - 1] = 0x0a
  return out
}
