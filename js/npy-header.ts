// The header of numpy's .npy format: a strict, bounded reader and the writer.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { MmapError } from './errors.js'

export interface NpyHeader {
  version: [number, number]
  descr: string
  fortranOrder: boolean
  shape: number[]
  /** Where the array data starts in the file. */
  dataOffset: number
}

/** numpy's reader refuses longer headers; so do we, and we never read more than this. */
export const NPY_MAX_HEADER = 10_000

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
const ALIGN = 64

function formatError(message: string, path?: string): MmapError {
  return new MmapError('ERR_MMAP_FORMAT', path === undefined ? message : `${message} (path '${path}')`, { path })
}

/** Parses the header at the start of `bytes` (the file's first NPY_MAX_HEADER + 12 bytes suffice). */
export function parseNpyHeader(bytes: Uint8Array, path?: string): NpyHeader {
  const fail = (message: string): never => {
    throw formatError(`not a valid .npy file: ${message}`, path)
  }
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('expected the magic string \\x93NUMPY')
  const major = bytes[6]
  const minor = bytes[7]
  if (minor !== 0 || major < 1 || major > 3)
    fail(`unsupported format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`)
  const lenBytes = major === 1 ? 2 : 4
  const start = 8 + lenBytes
  if (bytes.length < start) fail('the header length is cut off')
  let headerLen = 0
  for (let i = lenBytes - 1; i >= 0; i--) headerLen = headerLen * 256 + bytes[8 + i]
  if (headerLen > NPY_MAX_HEADER) fail(`header of ${headerLen} bytes is over numpy's limit of ${NPY_MAX_HEADER}`)
  if (bytes.length < start + headerLen) fail(`the header is cut off (${headerLen} bytes declared)`)
  const raw = bytes.subarray(start, start + headerLen)
  let text: string
  try {
    // 1.0 and 2.0 headers are latin-1 (numpy writes ASCII); 3.0 allows UTF-8.
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(raw)
  } catch {
    return fail('the header is not valid UTF-8')
  }
  if (!text.endsWith('\n')) fail("the header does not end with '\\n'")
  const dict = new DictParser(text, fail).parse()
  const keys = Object.keys(dict).sort().join(',')
  if (keys !== 'descr,fortran_order,shape') {
    fail(
      `expected exactly the keys 'descr', 'fortran_order' and 'shape', got ${Object.keys(dict).join(', ') || 'none'}`,
    )
  }
  const { descr, fortran_order: fortranOrder, shape } = dict
  if (typeof descr !== 'string') fail("'descr' must be a string (structured dtypes are not supported)")
  if (typeof fortranOrder !== 'boolean') fail("'fortran_order' must be True or False")
  if (fortranOrder) fail('Fortran-order arrays are not supported: save it in C order (np.ascontiguousarray)')
  if (!Array.isArray(shape)) fail("'shape' must be a tuple of integers")
  let count = 1
  for (const d of shape as unknown[]) {
    if (typeof d !== 'number') fail("'shape' must be a tuple of integers")
    count *= d as number
    if (!Number.isSafeInteger(count)) fail('the shape holds more elements than can be addressed')
  }
  return {
    version: [major, minor],
    descr: descr as string,
    fortranOrder: false,
    shape: shape as number[],
    dataOffset: start + headerLen,
  }
}

type PyValue = string | boolean | number[] | PyValue[] | { [k: string]: PyValue }

/**
 * Just enough of Python's literal syntax for what numpy's `repr` writes: a dict with string
 * keys, and string, True/False and tuple-of-int values. Anything else fails; the input is at most
 * NPY_MAX_HEADER characters and every step consumes one, so it cannot hang.
 */
class DictParser {
  #i = 0

  constructor(
    readonly text: string,
    readonly fail: (message: string) => never,
  ) {}

  parse(): { [k: string]: PyValue } {
    this.#space()
    const dict = this.#dict()
    this.#space()
    if (this.#i !== this.text.length) this.fail(`unexpected '${this.text[this.#i]}' after the header dict`)
    return dict
  }

  #space(): void {
    while (this.#i < this.text.length && ' \t\n\r'.includes(this.text[this.#i])) this.#i++
  }

  #expect(ch: string): void {
    this.#space()
    if (this.text[this.#i] !== ch) this.fail(`expected '${ch}' at offset ${this.#i} of the header`)
    this.#i++
  }

  /** After an item: a comma (then maybe the closing bracket) or the closing bracket. */
  #next(close: string): boolean {
    this.#space()
    const ch = this.text[this.#i]
    if (ch === close) {
      this.#i++
      return false
    }
    if (ch !== ',') this.fail(`expected ',' or '${close}' at offset ${this.#i} of the header`)
    this.#i++
    this.#space()
    if (this.text[this.#i] === close) {
      this.#i++
      return false
    }
    return true
  }

  #dict(): { [k: string]: PyValue } {
    this.#expect('{')
    const out: { [k: string]: PyValue } = Object.create(null)
    this.#space()
    if (this.text[this.#i] === '}') {
      this.#i++
      return out
    }
    do {
      this.#space()
      const key = this.#string()
      if (Object.hasOwn(out, key)) this.fail(`duplicate key '${key}'`)
      this.#expect(':')
      out[key] = this.#value()
    } while (this.#next('}'))
    return out
  }

  #value(): PyValue {
    this.#space()
    const ch = this.text[this.#i]
    if (ch === "'" || ch === '"') return this.#string()
    if (ch === '(') return this.#tuple()
    if (ch === '[') this.fail('structured dtypes (a list descr) are not supported')
    if (ch === '{') this.fail('nested dicts are not supported')
    for (const [word, value] of [
      ['True', true],
      ['False', false],
    ] as const) {
      if (this.text.startsWith(word, this.#i) && !/\w/.test(this.text[this.#i + word.length] ?? '')) {
        this.#i += word.length
        return value
      }
    }
    return this.fail(`unexpected value at offset ${this.#i} of the header`)
  }

  #string(): string {
    const quote = this.text[this.#i]
    if (quote !== "'" && quote !== '"') this.fail(`expected a quoted string at offset ${this.#i} of the header`)
    const end = this.text.indexOf(quote, this.#i + 1)
    if (end < 0) this.fail('unterminated string in the header')
    const s = this.text.slice(this.#i + 1, end)
    if (s.includes('\\') || s.includes('\n')) this.fail('escapes in header strings are not supported')
    this.#i = end + 1
    return s
  }

  #tuple(): number[] {
    this.#expect('(')
    const out: number[] = []
    this.#space()
    if (this.text[this.#i] === ')') {
      this.#i++
      return out
    }
    do {
      this.#space()
      const m = /^\d+/.exec(this.text.slice(this.#i, this.#i + 20))
      if (m === null) this.fail(`expected a non-negative integer in 'shape' at offset ${this.#i} of the header`)
      const digits = (m as RegExpExecArray)[0]
      const n = Number(digits)
      if (!Number.isSafeInteger(n) || digits.length > 16) this.fail(`shape entry ${digits} is too large`)
      this.#i += digits.length
      if (/[\w.]/.test(this.text[this.#i] ?? '')) this.fail(`expected an integer in 'shape' at offset ${this.#i}`)
      out.push(n)
    } while (this.#next(')'))
    // `(5)` is not a tuple in Python; numpy always writes `(5,)`.
    return out
  }
}

/**
 * A complete header for `descr` and C-order `shape`: magic through the final '\n', its length a
 * multiple of 64 so the data that follows is aligned. Version 1.0 (a u16 length is plenty under
 * numpy's 10,000-byte limit), or 3.0 if the text is not ASCII (it never is for our descrs).
 */
export function buildNpyHeader(descr: string, shape: readonly number[]): Uint8Array {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`
  const encoded = new TextEncoder().encode(dict)
  const major = encoded.length === dict.length ? 1 : 3
  const prefix = major === 1 ? 10 : 12
  const total = Math.ceil((prefix + encoded.length + 1) / ALIGN) * ALIGN
  const headerLen = total - prefix
  if (headerLen > NPY_MAX_HEADER) {
    throw new MmapError(
      'ERR_MMAP_INVALID_ARG',
      `a .npy header for shape [${shape.join(', ')}] would exceed numpy's limit of ${NPY_MAX_HEADER} bytes`,
    )
  }
  const out = new Uint8Array(total).fill(0x20) // numpy pads with spaces
  out.set(MAGIC, 0)
  out[6] = major
  out[7] = 0
  for (let i = 0, n = headerLen; i < prefix - 8; i++, n = Math.floor(n / 256)) out[8 + i] = n % 256
  out.set(encoded, prefix)
  out[total - 1] = 0x0a
  return out
}
