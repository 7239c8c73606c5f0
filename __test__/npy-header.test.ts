import { describe, expect, it } from 'vitest'

import { MmapError } from '../dist/index.mjs'
import { buildNpyHeader, NPY_MAX_HEADER, parseNpyHeader } from '../dist/npy-header.js'
import { thrown } from './helpers'

const enc = (s: string) => new TextEncoder().encode(s)

/** A header as numpy writes it: magic, version, length, dict text padded to `align`. */
function npy(dict: string, { major = 1, align = 64, pad = ' ', end = '\n' } = {}): Uint8Array {
  const prefix = major === 1 ? 10 : 12
  const body = enc(dict)
  const total = Math.ceil((prefix + body.length + end.length) / align) * align
  const len = total - prefix
  const out = new Uint8Array(total).fill(pad.charCodeAt(0))
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0])
  for (let i = 0, n = len; i < prefix - 8; i++, n = Math.floor(n / 256)) out[8 + i] = n % 256
  out.set(body, prefix)
  out.set(enc(end), total - end.length)
  return out
}

const VALID = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"

describe('parseNpyHeader', () => {
  it('reads what numpy writes', () => {
    expect(parseNpyHeader(npy(VALID))).toEqual({
      version: [1, 0],
      descr: '<f8',
      fortranOrder: false,
      shape: [3, 4],
      dataOffset: 128,
    })
  })

  it.each([
    ["{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }", '|b1', [5]],
    ["{'descr': '<i8', 'fortran_order': False, 'shape': (), }", '<i8', []],
    ["{'descr': '<u2', 'fortran_order': False, 'shape': (0,), }", '<u2', [0]],
    ['{"descr": "<f4", "fortran_order": False, "shape": (2, 3, 4)}', '<f4', [2, 3, 4]],
    ["{ 'shape' : ( 7 , 1 , ) , 'fortran_order':False,'descr':'<f8' }", '<f8', [7, 1]],
  ])('accepts %s', (dict, descr, shape) => {
    const h = parseNpyHeader(npy(dict))
    expect(h.descr).toBe(descr)
    expect(h.shape).toEqual(shape)
  })

  it('reads versions 2.0 and 3.0 and old 16-byte alignment', () => {
    expect(parseNpyHeader(npy(VALID, { major: 2 }))).toMatchObject({ version: [2, 0], dataOffset: 128 })
    expect(parseNpyHeader(npy(VALID, { major: 3 }))).toMatchObject({ version: [3, 0] })
    expect(parseNpyHeader(npy(VALID, { align: 16 })).dataOffset).toBe(80)
  })

  const bad: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['short', enc('\x93NUM')],
    ['bad magic', enc('\x93NUMPX\x01\x00\x10\x00' + ' '.repeat(16))],
    ['version 4.0', npy(VALID).fill(4, 6, 7)],
    ['version 1.1', npy(VALID).fill(1, 7, 8)],
    ['version 0.0', npy(VALID).fill(0, 6, 7)],
    ['length past the bytes', npy(VALID).subarray(0, 100)],
    [
      'length past the limit',
      (() => {
        const h = npy(VALID, { major: 2 })
        h.set([0xff, 0xff, 0x00, 0x00], 8)
        return h
      })(),
    ],
    ['no newline', npy(VALID, { end: ' ' })],
    ['not a dict', npy("['descr', '<f8']")],
    ['missing shape', npy("{'descr': '<f8', 'fortran_order': False, }")],
    ['missing descr', npy("{'fortran_order': False, 'shape': (3,), }")],
    ['extra key', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': True}")],
    ['duplicate key', npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,), }")],
    ['fortran order', npy("{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }")],
    ['fortran_order lowercase', npy("{'descr': '<f8', 'fortran_order': false, 'shape': (3,), }")],
    ['fortran_order int', npy("{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }")],
    ['descr not string', npy("{'descr': True, 'fortran_order': False, 'shape': (3,), }")],
    ['structured descr', npy("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (3,), }")],
    ['negative dim', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }")],
    ['float dim', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3.0,), }")],
    ['long dim', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }")],
    ['huge dim', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }")],
    ['huge product', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")],
    ['shape list', npy("{'descr': '<f8', 'fortran_order': False, 'shape': [3], }")],
    ['shape string', npy("{'descr': '<f8', 'fortran_order': False, 'shape': '3', }")],
    ['trailing garbage', npy(VALID + ' x')],
    ['unterminated string', npy("{'descr: '<f8', 'fortran_order': False, 'shape': (3,), }")],
    ['escape in string', npy("{'descr': '<f\\8', 'fortran_order': False, 'shape': (3,), }")],
    ['nested dict', npy("{'descr': {}, 'fortran_order': False, 'shape': (3,), }")],
    [
      'bad utf-8 in 3.0',
      (() => {
        const h = npy(VALID, { major: 3 })
        h[20] = 0xff
        return h
      })(),
    ],
    ['missing comma', npy("{'descr': '<f8' 'fortran_order': False, 'shape': (3,), }")],
    ['unclosed dict', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ")],
  ]

  it.each(bad)('rejects %s with ERR_MMAP_FORMAT naming the path', (_, bytes) => {
    const e = thrown(() => parseNpyHeader(bytes, '/data/x.npy'))
    expect(e).toBeInstanceOf(MmapError)
    expect(e.code).toBe('ERR_MMAP_FORMAT')
    expect(e.path).toBe('/data/x.npy')
    expect(e.message).toContain('/data/x.npy')
  })

  it('survives 5,000 random mutations and truncations: parses or throws ERR_MMAP_FORMAT', () => {
    let seed = 12345
    const rand = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n
    const base = npy(VALID)
    const alphabet = enc('{}()[],:\'" \n0123456789TrueFalsedescrshapefortran_order<f8|b1-.L\\')
    for (let k = 0; k < 5000; k++) {
      let b = base.slice()
      for (let m = rand(4) + 1; m > 0; m--) {
        const i = rand(b.length)
        b[i] = rand(3) === 0 ? rand(256) : alphabet[rand(alphabet.length)]
      }
      if (rand(5) === 0) b = b.subarray(0, rand(b.length))
      try {
        const h = parseNpyHeader(b)
        expect(Number.isSafeInteger(h.shape.reduce((p, d) => p * d, 1))).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(MmapError)
        expect((err as MmapError).code).toBe('ERR_MMAP_FORMAT')
      }
    }
  })
})

describe('buildNpyHeader', () => {
  it.each([[[]], [[0]], [[5]], [[3, 4]], [[2, 3, 4]], [[2 ** 40, 3]]])(
    'round-trips shape %j, 64-byte aligned',
    (shape) => {
      const h = buildNpyHeader('<f8', shape)
      expect(h.length % 64).toBe(0)
      expect(h[h.length - 1]).toBe(0x0a)
      expect(parseNpyHeader(h)).toEqual({
        version: [1, 0],
        descr: '<f8',
        fortranOrder: false,
        shape,
        dataOffset: h.length,
      })
    },
  )

  it("writes numpy's own text", () => {
    const text = new TextDecoder().decode(buildNpyHeader('<i4', [3]).subarray(10)).trimEnd()
    expect(text).toBe("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }")
  })

  it('refuses a header over the limit', () => {
    const e = thrown(() =>
      buildNpyHeader(
        '<f8',
        Array.from({ length: 4000 }, () => 1),
      ),
    )
    expect(e.code).toBe('ERR_MMAP_INVALID_ARG')
    expect(NPY_MAX_HEADER).toBe(10_000)
  })
})
