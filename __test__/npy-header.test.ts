import { describe, expect, it } from 'vitest'

import { MmapError } from '../js/errors.js'
import { buildNpyHeader, NPY_MAX_HEADER, parseNpyHeader } from '../js/npy-header.js'

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
const utf8 = (s: string) => new TextEncoder().encode(s)
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0)
  return out
}

function thrown(fn: () => unknown): MmapError {
  try {
    fn()
  } catch (err) {
    if (err instanceof MmapError) return err
    throw err
  }
  throw new Error('expected an MmapError, nothing was thrown')
}

/** A header around `text`: magic, version, length, then `text` padded with spaces to `align`, then `end`. */
function npy(text: string, { major = 1, align = 64, end = '\n' } = {}): Uint8Array {
  const prefix = major === 1 ? 10 : 12
  const body = major === 3 ? utf8(text) : latin1(text)
  const total = Math.ceil((prefix + body.length + end.length) / align) * align
  const out = new Uint8Array(total).fill(0x20)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0])
  const view = new DataView(out.buffer)
  if (major === 1) view.setUint16(8, total - prefix, true)
  else view.setUint32(8, total - prefix, true)
  out.set(body, prefix)
  out.set(latin1(end), total - end.length)
  return out
}

/** `bytes` with its header-length field overwritten. */
function withLength(bytes: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice()
  const view = new DataView(out.buffer)
  if (out[6] === 1) view.setUint16(8, length, true)
  else view.setUint32(8, length, true)
  return out
}

const VALID = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"
const dict = (shape: string, { descr = "'<f8'", fortran = 'False' } = {}) =>
  `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, }`

// Written by numpy 2.4 (np.save / format.write_array): prefix, dict text, spaces, then '\n'.
// The 16-d shape is where np.save's growth-axis spare space (21 - digits of shape[0]) moves the
// padding to the next 64 bytes; the '☃' descr is one numpy itself writes as format 3.0.
const SIXTEEN = Array.from({ length: 16 }, () => 2)
const NUMPY: [string, number[], string, string, number][] = [
  ['<f8', [3, 4], '\x93NUMPY\x01\x00v\x00', "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", 58],
  ['<i4', [], '\x93NUMPY\x01\x00v\x00', "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", 62],
  ['|u1', [0], '\x93NUMPY\x01\x00v\x00', "{'descr': '|u1', 'fortran_order': False, 'shape': (0,), }", 60],
  ['|b1', [5], '\x93NUMPY\x01\x00v\x00', "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }", 60],
  ['<f4', [2, 3, 4], '\x93NUMPY\x01\x00v\x00', "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", 55],
  [
    '<i8',
    [2 ** 40, 3],
    '\x93NUMPY\x01\x00v\x00',
    "{'descr': '<i8', 'fortran_order': False, 'shape': (1099511627776, 3), }",
    46,
  ],
  ['<f8', SIXTEEN, '\x93NUMPY\x01\x00\xb6\x00', dict(`(${SIXTEEN.join(', ')})`), 80],
  ['<U1☃', [2], '\x93NUMPY\x03\x00t\x00\x00\x00', "{'descr': '<U1☃', 'fortran_order': False, 'shape': (2,), }", 55],
]
const numpyBytes = (prefix: string, text: string, pad: number) =>
  concat(latin1(prefix), utf8(`${text}${' '.repeat(pad)}\n`))

describe('headers numpy writes', () => {
  it.each(NUMPY)('%s %j: parses, and buildNpyHeader writes the same bytes', (descr, shape, prefix, text, pad) => {
    const bytes = numpyBytes(prefix, text, pad)
    expect(parseNpyHeader(bytes)).toEqual({
      version: [bytes[6], 0],
      descr,
      fortranOrder: false,
      shape,
      dataOffset: bytes.length,
    })
    expect(buildNpyHeader(descr, shape)).toEqual(bytes)
  })

  it('reads versions 2.0 and 3.0 as numpy writes them when asked', () => {
    for (const major of [2, 3]) {
      const bytes = numpyBytes(`\x93NUMPY${String.fromCharCode(major)}\x00t\x00\x00\x00`, VALID, 56)
      expect(parseNpyHeader(bytes)).toEqual({
        version: [major, 0],
        descr: '<f8',
        fortranOrder: false,
        shape: [3, 4],
        dataOffset: 128,
      })
    }
  })

  it('reads older numpy: no growth-axis space, and 16-byte alignment', () => {
    expect(parseNpyHeader(npy(VALID)).dataOffset).toBe(128)
    const old = npy(VALID, { align: 16 })
    expect(old.length).toBe(80)
    expect(parseNpyHeader(old)).toMatchObject({ shape: [3, 4], dataOffset: 80 })
  })
})

describe('parseNpyHeader accepts', () => {
  it.each([
    [
      'double quotes, no trailing comma',
      '{"descr": "<f4", "fortran_order": False, "shape": (2, 3, 4)}',
      '<f4',
      [2, 3, 4],
    ],
    ['any key order, odd spacing', "{ 'shape' : ( 7 , 1 , ) , 'fortran_order':False,'descr':'<f8' }", '<f8', [7, 1]],
    [
      'tabs and newlines between tokens',
      "\t{\n'descr':\r\n'<u2',\f'fortran_order': False,\n'shape': (\n9,\n)\n}",
      '<u2',
      [9],
    ],
    ['an empty tuple', dict('()'), '<f8', []],
    ['an empty tuple with spaces', dict('(  )'), '<f8', []],
    ['one-element tuple', dict('(5,)'), '<f8', [5]],
    ['a zero dimension', dict('(0, 4)'), '<f8', [0, 4]],
    ['2**53 - 1 elements', dict('(9007199254740991,)'), '<f8', [Number.MAX_SAFE_INTEGER]],
    ['huge dims around a zero', dict('(9007199254740991, 0, 9007199254740991)'), '<f8', [2 ** 53 - 1, 0, 2 ** 53 - 1]],
    ['a descr numpy would reject (returned verbatim)', dict('(1,)', { descr: "'>c16'" }), '>c16', [1]],
    ['an empty descr (returned verbatim)', dict('(1,)', { descr: "''" }), '', [1]],
  ])('%s', (_, text, descr, shape) => {
    expect(parseNpyHeader(npy(text))).toMatchObject({ descr, shape, fortranOrder: false })
  })

  it('any data offset, not only multiples of 64 or 16', () => {
    const h = npy(VALID, { align: 1 })
    expect(h.length).toBe(70)
    expect(parseNpyHeader(h).dataOffset).toBe(70)
  })

  it('the data that follows, and a header that is a view into a larger buffer', () => {
    const file = concat(new Uint8Array(3), npy(VALID), new Uint8Array(96).fill(0xff))
    expect(parseNpyHeader(file.subarray(3))).toMatchObject({ shape: [3, 4], dataOffset: 128 })
  })

  it('latin-1 text in 1.0/2.0 and UTF-8 in 3.0, descr verbatim', () => {
    expect(parseNpyHeader(npy(dict('(1,)', { descr: "'<f8\xe9'" }))).descr).toBe('<f8é')
    expect(parseNpyHeader(npy(dict('(1,)', { descr: "'<f8\xe9'" }), { major: 2 })).descr).toBe('<f8é')
    expect(parseNpyHeader(npy(dict('(1,)', { descr: "'<f8☃'" }), { major: 3 })).descr).toBe('<f8☃')
  })

  it('a header of exactly NPY_MAX_HEADER bytes', () => {
    const h = npy(VALID, { major: 2, align: 12 + NPY_MAX_HEADER })
    expect(h.length).toBe(12 + NPY_MAX_HEADER)
    expect(parseNpyHeader(h).dataOffset).toBe(12 + NPY_MAX_HEADER)
  })
})

describe('buildNpyHeader', () => {
  const MAX = Number.MAX_SAFE_INTEGER
  it.each([[[]], [[0]], [[5]], [[3, 4]], [[2, 3, 4]], [[2 ** 40, 3]], [[MAX]], [[MAX, 0, MAX]], [[1, 1, 1, 1, 1, 1]]])(
    'round-trips shape %j: version 1.0, 64-byte aligned, ends in a newline',
    (shape) => {
      for (const descr of ['<f8', '|b1', '<i2', '|u1', '<f4']) {
        const h = buildNpyHeader(descr, shape)
        expect(h.length % 64).toBe(0)
        expect(h[h.length - 1]).toBe(0x0a)
        expect(parseNpyHeader(h)).toEqual({ version: [1, 0], descr, fortranOrder: false, shape, dataOffset: h.length })
      }
    },
  )

  it('writes version 3.0 for a non-ASCII descr', () => {
    const h = buildNpyHeader('<f8€', [2])
    expect(h.length % 64).toBe(0)
    expect(parseNpyHeader(h)).toMatchObject({ version: [3, 0], descr: '<f8€', shape: [2] })
  })

  it('refuses a header over NPY_MAX_HEADER with ERR_MMAP_INVALID_ARG, so never needs version 2.0', () => {
    const ones = (n: number) => Array.from({ length: n }, () => 1)
    const fits = (n: number) => {
      try {
        return buildNpyHeader('<f8', ones(n)).length - 10 <= NPY_MAX_HEADER
      } catch {
        return false
      }
    }
    let ndim = 1
    while (fits(ndim + 1)) ndim++
    const largest = buildNpyHeader('<f8', ones(ndim))
    expect(largest.length).toBeGreaterThan(NPY_MAX_HEADER - 64)
    expect(parseNpyHeader(largest)).toMatchObject({ version: [1, 0], shape: ones(ndim) })
    const e = thrown(() => buildNpyHeader('<f8', ones(ndim + 1)))
    expect(e.code).toBe('ERR_MMAP_INVALID_ARG')
    expect(e.message).toContain(String(NPY_MAX_HEADER))
    // Past 65535 bytes numpy would switch to 2.0; numpy's own reader would then refuse the file.
    expect(thrown(() => buildNpyHeader('<f8', ones(30_000))).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it.each([
    ['a quote in descr', "<f'8", [1]],
    ['a backslash in descr', '<f\\8', [1]],
    ['a newline in descr', '<f8\n', [1]],
    ['a lone surrogate in descr', '<f8\ud800', [1]],
    ['a negative dim', '<f8', [-1]],
    ['a fractional dim', '<f8', [1.5]],
    ['a NaN dim', '<f8', [NaN]],
    ['an unsafe dim', '<f8', [2 ** 53]],
    ['an unsafe product', '<f8', [2 ** 30, 2 ** 30]],
  ])('refuses %s with ERR_MMAP_INVALID_ARG', (_, descr, shape) => {
    expect(thrown(() => buildNpyHeader(descr as string, shape as number[])).code).toBe('ERR_MMAP_INVALID_ARG')
  })
})

describe('parseNpyHeader rejects', () => {
  const v3 = (text: string) => npy(text, { major: 3 })
  const bad: [string, Uint8Array][] = [
    ['no bytes', new Uint8Array(0)],
    ['half the magic', latin1('\x93NUM')],
    ['the magic and no version', latin1('\x93NUMPY')],
    ['a PNG', latin1('\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR')],
    ['a lowercase magic', latin1('\x93numpy\x01\x00\x10\x00' + ' '.repeat(15) + '\n')],
    ['version 0.0', npy(VALID).fill(0, 6, 7)],
    ['version 1.1', npy(VALID).fill(1, 7, 8)],
    ['version 4.0', npy(VALID).fill(4, 6, 7)],
    ['version 1.0 without a length', npy(VALID).subarray(0, 9)],
    ['version 2.0 without a full length', npy(VALID, { major: 2 }).subarray(0, 11)],
    ['a header cut off', npy(VALID).subarray(0, 100)],
    ['a length one past the bytes', withLength(npy(VALID), 119)],
    ['a length past NPY_MAX_HEADER', npy(VALID, { major: 2, align: 12 + NPY_MAX_HEADER + 1 })],
    ['a 2.0 length of 70000', withLength(npy(VALID, { major: 2 }), 70_000)],
    ['a 2.0 length of 2**32 - 1', withLength(npy(VALID, { major: 2 }), 2 ** 32 - 1)],
    ['an empty header', withLength(npy(VALID), 0)],
    ['no final newline', npy(VALID, { end: ' ' })],
    ['only a newline', npy('', { align: 1 })],
    ['a list, not a dict', npy("['descr', '<f8']")],
    ['an empty dict', npy('{}')],
    ['a dict of only a comma', npy('{,}')],
    ['a missing shape', npy("{'descr': '<f8', 'fortran_order': False, }")],
    ['a missing descr', npy("{'fortran_order': False, 'shape': (3,), }")],
    ['a missing fortran_order', npy("{'descr': '<f8', 'shape': (3,), }")],
    ['an extra key', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': True}")],
    ['a duplicate key', npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,), }")],
    ['a key differing in case', npy("{'Descr': '<f8', 'fortran_order': False, 'shape': (3,), }")],
    ['an unquoted key', npy("{descr: '<f8', 'fortran_order': False, 'shape': (3,), }")],
    ['an int key', npy("{1: '<f8', 'fortran_order': False, 'shape': (3,), }")],
    ['fortran_order True', npy(dict('(3,)', { fortran: 'True' }))],
    ['fortran_order false', npy(dict('(3,)', { fortran: 'false' }))],
    ['fortran_order 0', npy(dict('(3,)', { fortran: '0' }))],
    ["fortran_order 'False'", npy(dict('(3,)', { fortran: "'False'" }))],
    ['fortran_order None', npy(dict('(3,)', { fortran: 'None' }))],
    ['descr True', npy(dict('(3,)', { descr: 'True' }))],
    ['descr 8', npy(dict('(3,)', { descr: '8' }))],
    ['a structured descr', npy(dict('(3,)', { descr: "[('a', '<i4'), ('b', '<f8')]" }))],
    ['a dict descr', npy(dict('(3,)', { descr: "{'names': ['a']}" }))],
    ['a u-prefixed string', npy(dict('(3,)', { descr: "u'<f8'" }))],
    ['a shape list', npy(dict('[3]'))],
    ['a shape string', npy(dict("'3'"))],
    ['a bare int shape', npy(dict('3'))],
    ['(5) without the comma', npy(dict('(5)'))],
    ['(,)', npy(dict('(,)'))],
    ['(3,,4)', npy(dict('(3,,4)'))],
    ['(3 4)', npy(dict('(3 4)'))],
    ['a nested tuple', npy(dict('((3,),)'))],
    ['an unclosed tuple', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, ")],
    ['a negative dim', npy(dict('(-3,)'))],
    ['a float dim', npy(dict('(3.0,)'))],
    ['a Python 2 long', npy(dict('(3L, 4L)'))],
    ['an exponent', npy(dict('(1e3,)'))],
    ['a hex dim', npy(dict('(0x10,)'))],
    ['a leading zero', npy(dict('(07,)'))],
    ['an underscore', npy(dict('(1_000,)'))],
    ['a True dim', npy(dict('(True,)'))],
    ['a dim of 2**53', npy(dict('(9007199254740992,)'))],
    ['a 400-digit dim', npy(dict(`(${'9'.repeat(400)},)`))],
    ['a product over 2**53 - 1', npy(dict('(4294967296, 4294967296)'))],
    ['garbage after the dict', npy(VALID + ' x')],
    ['a second dict', npy(VALID + VALID)],
    ['a comment', npy(VALID + ' # numpy')],
    ['an unterminated string', npy("{'descr: '<f8', 'fortran_order': False, 'shape': (3,), }")],
    ['an escape in a string', npy(dict('(3,)', { descr: "'<f\\x38'" }))],
    ['a newline in a string', npy(dict('(3,)', { descr: "'<f\n8'" }))],
    ['mismatched quotes', npy(dict('(3,)', { descr: `'<f8"` }))],
    ['a missing comma', npy("{'descr': '<f8' 'fortran_order': False, 'shape': (3,), }")],
    ['a missing colon', npy("{'descr' '<f8', 'fortran_order': False, 'shape': (3,), }")],
    ['an unclosed dict', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ")],
    ['a NUL in the text', npy(VALID.replace(' ', '\0'))],
    ['non-ASCII outside a string (3.0)', v3(VALID.replace(' ', '\u00a0'))],
    ['a byte-order mark (3.0)', v3('\ufeff' + VALID)],
    ['invalid UTF-8 (3.0)', v3(VALID).fill(0xff, 20, 21)],
    ['a lone UTF-8 continuation byte (3.0)', v3(VALID).fill(0x80, 12, 13)],
  ]

  it.each(bad)('%s, with ERR_MMAP_FORMAT naming the path', (_, bytes) => {
    const e = thrown(() => parseNpyHeader(bytes, '/data/x.npy'))
    expect(e.code).toBe('ERR_MMAP_FORMAT')
    expect(e.path).toBe('/data/x.npy')
    expect(e.message).toMatch(/^not a valid \.npy file: .+ \(path '\/data\/x\.npy'\)$/)
  })

  it('says what it expected and found', () => {
    const message = (bytes: Uint8Array) => thrown(() => parseNpyHeader(bytes)).message
    expect(message(latin1('\x89PNG\r\n\x1a\n'))).toContain('found bytes 89 50 4e 47 0d 0a 1a 0a')
    expect(message(npy(VALID).fill(4, 6, 7))).toContain('expected format version 1.0, 2.0 or 3.0, found 4.0')
    expect(message(withLength(npy(VALID, { major: 2 }), 70_000))).toContain('at most 10000 bytes')
    expect(message(npy(dict('(3,)', { fortran: 'True' })))).toContain('Fortran-order arrays are not supported')
    expect(message(npy(dict('(3,)', { descr: "[('a', '<i4')]" })))).toContain('structured dtypes')
    expect(message(npy(dict('(3.0,)')))).toContain(
      "expected a non-negative integer or ')' in 'shape' at header offset 51, found '3.0'",
    )
    expect(message(npy(VALID + ' x'))).toContain("expected nothing after the dict at header offset 60, found 'x'")
    expect(message(npy("{'descr': '<f8', 'fortran_order': False, }"))).toContain("missing key 'shape'")
  })

  it('without a path, the message has no path suffix and the error no path', () => {
    const e = thrown(() => parseNpyHeader(new Uint8Array(0)))
    expect(e.path).toBeUndefined()
    expect(e.message).not.toContain('(path')
  })
})

// MEMMAP_FUZZ=100000 runs the long variant (issue #6); the default keeps the suite quick.
const FUZZ = Number(process.env.MEMMAP_FUZZ ?? 2000)

describe('parseNpyHeader on random damage', () => {
  let seed = 0x9e3779b9 // mulberry32: a seeded PRNG, so a failure reproduces
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) % n
  }
  /** 1 to 4 replacements, deletions or insertions drawn from `pool`. */
  function mutate<T>(items: readonly T[], pool: readonly T[]): T[] {
    const out = items.slice()
    for (let m = random(4) + 1; m > 0; m--) {
      const i = random(out.length + 1)
      const op = random(3)
      if (op === 0) out.splice(i, 1, pool[random(pool.length)])
      else if (op === 1) out.splice(i, 1)
      else out.splice(i, 0, pool[random(pool.length)])
    }
    return out
  }

  it(`${FUZZ} mutations and truncations each parse to a sane header or throw ERR_MMAP_FORMAT`, () => {
    const texts = [
      VALID,
      '{"descr": "|b1", "fortran_order": False, "shape": (5,)}',
      dict('(2, 0, 7)', { descr: "'☃'" }),
    ]
    const chars = [...'{}()[],:\'" \n\t0123456789TrueFalsedescrshapefortran_order<f8|b1-.L\\#é☃\0']
    const headers = [npy(VALID), npy(VALID, { major: 2 }), npy(texts[2], { major: 3 }), buildNpyHeader('|b1', [])]
    const bytes = [...latin1(chars.join('')), ...Array.from({ length: 256 }, (_, i) => i)]
    let parsed = 0
    for (let k = 0; k < FUZZ; k++) {
      // Half damage the dict text inside a well-formed frame, half the raw bytes (magic, length, padding).
      let b =
        k % 2 === 0
          ? npy(mutate([...texts[random(texts.length)]], chars).join(''), { major: 1 + random(3), align: 16 })
          : Uint8Array.from(mutate([...headers[random(headers.length)]], bytes))
      if (random(5) === 0) b = b.subarray(0, random(b.length + 1))
      try {
        const h = parseNpyHeader(b)
        parsed++
        expect(h.fortranOrder).toBe(false)
        expect(h.dataOffset).toBeLessThanOrEqual(b.length)
        expect(h.shape.every((d) => Number.isSafeInteger(d) && d >= 0)).toBe(true)
        expect(h.shape.includes(0) || Number.isSafeInteger(h.shape.reduce((p, d) => p * d, 1))).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(MmapError)
        expect((err as MmapError).code).toBe('ERR_MMAP_FORMAT')
      }
    }
    // Both outcomes are exercised.
    expect(parsed).toBeGreaterThan(20)
    expect(parsed).toBeLessThan(FUZZ * 0.95)
  })
})
