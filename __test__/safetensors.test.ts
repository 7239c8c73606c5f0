// openSafetensors / saveSafetensors (API.md "safetensors"): views, lifecycle, the header checks
// (each one a file the reference reader also refuses, unless marked as one of our two documented
// looser cases), and the writer's layout. Interop with Python: safetensors-python.test.ts.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapArray, openSafetensors, saveSafetensors } from '../dist/index.mjs'
import { mappingsOf, posixCheck, tempDir, thrown } from './helpers'

const dir = tempDir()
let seq = 0
const fresh = (): string => join(dir, `t${seq++}.safetensors`)

/** A file from a header given as JSON text (or bytes) and `data` bytes after it. */
function raw(header: string | Uint8Array, data: Uint8Array | number = 0, length?: bigint): string {
  // Text headers are padded with spaces, as writers do, so that the data starts 8-aligned.
  const padded = typeof header === 'string' ? header + ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8) : header
  const h = typeof padded === 'string' ? Buffer.from(padded, 'utf8') : Buffer.from(padded)
  const d = typeof data === 'number' ? new Uint8Array(data) : data
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(length ?? BigInt(h.length))
  const p = fresh()
  writeFileSync(p, Buffer.concat([len, h, d]))
  return p
}
const T = (dtype: string, shape: number[], b: number, e: number) => ({ dtype, shape, data_offsets: [b, e] })
const hdr = (o: unknown) => JSON.stringify(o)

describe('saveSafetensors and openSafetensors', () => {
  it('round trip: names in data order, info, metadata, values, the reference layout', () => {
    const p = fresh()
    saveSafetensors(
      p,
      {
        small: new Uint8Array([1, 2, 3]),
        w: Float32Array.from([1.5, -2.25]),
        big: new BigInt64Array([5n, -6n]),
        s: {
          dtype: 'int16',
          shape: [2, 2],
          data: [
            [1, -2],
            [3, 4],
          ],
        },
        z: new Float64Array(0),
      },
      { metadata: { format: 'pt', note: 'caf\u00e9' } },
    )
    const bytes = readFileSync(p)
    const n = Number(bytes.readBigUInt64LE(0))
    expect(n % 8).toBe(0)
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString())
    // __metadata__ first, then by itemsize descending, the caller's order among equals.
    expect(Object.keys(header)).toEqual(['__metadata__', 'big', 'z', 'w', 's', 'small'])
    expect(header.s).toEqual(T('I16', [2, 2], 24, 32))
    expect(bytes.length).toBe(8 + n + 16 + 8 + 8 + 3)
    using f = openSafetensors(p)
    expect(f.metadata).toEqual({ format: 'pt', note: 'caf\u00e9' })
    expect(f.names()).toEqual(['big', 'z', 'w', 's', 'small'])
    expect(f.info('w')).toEqual({ dtype: 'float32', shape: [2], byteOffset: 8 + n + 16, byteLength: 8 })
    expect(f.info('s')).toEqual({ dtype: 'int16', shape: [2, 2], byteOffset: 8 + n + 24, byteLength: 8 })
    expect([...f.tensor('big').array]).toEqual([5n, -6n])
    expect([...f.tensor('w').array]).toEqual([1.5, -2.25])
    expect(f.tensor('s').get(1, 0)).toBe(3)
    expect(f.tensor('s').shape).toEqual([2, 2])
    expect(f.tensor('z').size).toBe(0)
    expect([...f.tensor('small').array]).toEqual([1, 2, 3])
    for (const name of f.names()) expect(f.info(name).byteOffset % f.tensor(name).itemsize).toBe(0)
    expect([...f].map(([name, t]) => [name, t.dtype])).toEqual([
      ['big', 'int64'],
      ['z', 'float64'],
      ['w', 'float32'],
      ['s', 'int16'],
      ['small', 'uint8'],
    ])
  })

  it('a file with no metadata has {}; an empty file of tensors is valid', () => {
    const p = fresh()
    saveSafetensors(p, {})
    using f = openSafetensors(p)
    expect(f.metadata).toEqual({})
    expect(f.names()).toEqual([])
  })

  it('tensors are zero-copy views: the same object until closed, closed with the file', () => {
    const p = fresh()
    saveSafetensors(p, { a: Int32Array.from([1, 2, 3]), b: Int8Array.from([7]) })
    const f = openSafetensors(p, { mode: 'r+' })
    const t = f.tensor<'int32'>('a')
    expect(f.tensor('a')).toBe(t)
    // A tensor closed on its own: the next tensor() is a new view, the file stays open.
    const first = f.tensor('b')
    first.close()
    const again = f.tensor('b')
    expect(again).not.toBe(first)
    expect(again.get(0)).toBe(7)
    expect(f.closed).toBe(false)
    t.set(0, 41)
    t.flush()
    expect(readFileSync(p).readInt32LE(f.info('a').byteOffset)).toBe(41)
    const view = t.array
    f.close()
    expect(t.closed).toBe(true)
    expect(view.length).toBe(0)
    expect(f.closed).toBe(true)
    expect(thrown(() => f.tensor('a')).code).toBe('ERR_MMAP_CLOSED')
    expect(f.info('a').shape).toEqual([3])
    f.close()
  })

  it('a tensor is mapped on first use, not by tensor(): untouched tensors cost no mapping', () => {
    const p = fresh()
    const tensors: Record<string, Float32Array> = {}
    for (let i = 0; i < 8; i++) tensors[`t${i}`] = new Float32Array(4096).fill(i)
    saveSafetensors(p, tensors)
    const f = openSafetensors(p)
    const views = f.names().map((n) => f.tensor<'float32'>(n))
    const linux = posixCheck('/proc/self/maps counts the mappings')
    if (linux) expect(mappingsOf(p)).toBe(1) // the file's own mapping only
    expect(views[3].sum()).toBe(3 * 4096)
    expect(views[5].get(7)).toBe(5)
    if (linux) expect(mappingsOf(p)).toBe(3)
    // Closed before first use: an error, and still nothing mapped for it.
    const untouched = views[6]
    untouched.close()
    expect(thrown(() => untouched.sum()).code).toBe('ERR_MMAP_CLOSED')
    f.close()
    expect(thrown(() => views[7].get(0)).code).toBe('ERR_MMAP_CLOSED')
    if (linux) expect(mappingsOf(p)).toBe(0)
  })

  it("modes: 'r' refuses writes, 'c' keeps them in the process", () => {
    const p = fresh()
    saveSafetensors(p, { a: Float64Array.from([1, 2]) })
    {
      using f = openSafetensors(p)
      expect(f.mode).toBe('r')
      expect(thrown(() => f.tensor('a').set(0, 5)).code).toBe('ERR_MMAP_READONLY')
    }
    {
      using f = openSafetensors(p, { mode: 'c' })
      f.tensor('a').set(0, 5)
      expect(f.tensor('a').get(0)).toBe(5)
    }
    using f = openSafetensors(p)
    expect(f.tensor('a').get(0)).toBe(1)
    expect(thrown(() => openSafetensors(p, { mode: 'w' as never })).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('unknown names are ERR_MMAP_INVALID_ARG naming the file', () => {
    const p = fresh()
    saveSafetensors(p, { a: new Uint8Array(1) })
    using f = openSafetensors(p)
    const e = thrown(() => f.tensor('nope'))
    expect(e.code).toBe('ERR_MMAP_INVALID_ARG')
    expect(e.message).toContain("'nope'")
    expect(e.path).toBe(p)
    expect(thrown(() => f.info('nope')).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('an existing file is EEXIST without overwrite; with it, replaced atomically', () => {
    const p = fresh()
    saveSafetensors(p, { a: Float32Array.from([1]) })
    expect(thrown(() => saveSafetensors(p, { a: Float32Array.from([2]) })).code).toBe('EEXIST')
    const old = posixCheck('Windows refuses to replace a file that a process maps (EBUSY)')
      ? openSafetensors(p)
      : undefined
    saveSafetensors(p, { a: Float32Array.from([2]) }, { overwrite: true })
    // The old mapping keeps the old file's data: the new one was renamed into place.
    if (old !== undefined) expect(old.tensor('a').get(0)).toBe(1)
    old?.close()
    using f = openSafetensors(p)
    expect(f.tensor('a').get(0)).toBe(2)
    // A value that cannot convert leaves the file as it was.
    const bad = thrown(() =>
      saveSafetensors(p, { a: { dtype: 'int64', shape: [1], data: [1.5] } }, { overwrite: true }),
    )
    expect(bad.code).toBe('ERR_MMAP_INVALID_ARG')
    using again = openSafetensors(p)
    expect(again.tensor('a').get(0)).toBe(2)
  })

  it('{ dtype, shape, data } converts values; MmapArrays are written with their dtype and shape', () => {
    const p = fresh()
    using src = MmapArray.fromArray(join(dir, 'src.bin'), [1, 2, 3, 4, 5, 6], { dtype: 'uint16', shape: [2, 3] })
    saveSafetensors(p, {
      i: { dtype: 'int32', shape: [3], data: Float64Array.from([1, -2, 300]) },
      m: src,
      f: { dtype: 'f4', data: [0.5, 2] },
    })
    using f = openSafetensors(p)
    expect([...f.tensor('i').array]).toEqual([1, -2, 300])
    expect(f.info('m')).toMatchObject({ dtype: 'uint16', shape: [2, 3] })
    expect(f.tensor('m').get(1, 2)).toBe(6)
    expect([...f.tensor('f').array]).toEqual([0.5, 2])
  })

  it('float16 and bfloat16 values are converted, never copied as bits', () => {
    const p = fresh()
    saveSafetensors(p, {
      h: { dtype: 'float16', shape: [3], data: [1, 65504, -0] },
      b: { dtype: 'bfloat16', shape: [2], data: [1, 0.1] },
    })
    using f = openSafetensors(p)
    expect(f.info('h').dtype).toBe('float16')
    expect(f.info('b').dtype).toBe('bfloat16')
    const bits = (name: string) => {
      const { byteOffset, byteLength } = f.info(name)
      const b = readFileSync(p).subarray(byteOffset, byteOffset + byteLength)
      return [...new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))]
    }
    expect(bits('h')).toEqual([0x3c00, 0x7bff, 0x8000])
    expect(bits('b')).toEqual([0x3f80, 0x3dcd])
    expect(f.tensor('h').get(1)).toBe(65504)
    expect(f.tensor('b').get(0)).toBe(1)
  })

  it('bad arguments are ERR_MMAP_INVALID_ARG and write nothing', () => {
    const p = fresh()
    const codes = [
      () => saveSafetensors(p, { __metadata__: new Uint8Array(1) }),
      () => saveSafetensors(p, { a: [1, 2] as never }),
      () => saveSafetensors(p, { a: new Uint8Array(1) }, { metadata: { k: 1 as never } }),
      () => saveSafetensors(p, { ['\ud800']: new Uint8Array(1) }),
      () => saveSafetensors(p, { a: { dtype: 'int8', shape: [3], data: [1, 2] } }),
      () => saveSafetensors(p, { a: { dtype: 'nope', data: [1] } }),
      () => saveSafetensors(p, new Map() as never),
      () => saveSafetensors(p, {}, { overwrite: 'yes' as never }),
    ].map((f) => thrown(f).code)
    expect(codes).toEqual(Array(8).fill('ERR_MMAP_INVALID_ARG'))
    expect(thrown(() => readFileSync(p)).code).toBe('ENOENT')
  })
})

describe('openSafetensors header checks', () => {
  const a4 = { a: T('F32', [1], 0, 4) }
  // Each is refused by the reference reader too (safetensors 0.8.0), except where noted.
  const refused: [string, () => string][] = [
    ['a file under 8 bytes', () => rawBytes(new Uint8Array(5))],
    ['a header length over 100,000,000', () => raw(hdr(a4), 4, 100_000_001n)],
    ['a header length past the end', () => raw(hdr(a4), 4, 1000n)],
    ['a u64 length past 2**53', () => raw(hdr(a4), 4, 2n ** 64n - 1n)],
    ['invalid UTF-8', () => raw(Buffer.concat([Buffer.from('{"\xff'), Buffer.from([0xff]), Buffer.from('":1}')]))],
    ['a BOM', () => raw(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(hdr(a4))]), 4)],
    ['an empty header', () => raw('')],
    ['a top-level array', () => raw('[]')],
    ['trailing characters', () => raw(hdr(a4) + 'x', 4)],
    ['a trailing NUL', () => raw(hdr(a4) + '\0', 4)],
    ['a trailing comma', () => raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}', 4)],
    ['1.0 as a shape entry', () => raw('{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', 4)],
    ['1e0 as a shape entry', () => raw('{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', 4)],
    ['-0 as an offset', () => raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-0,4]}}', 4)],
    ['01 as a shape entry', () => raw('{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}', 4)],
    ['3 data_offsets', () => raw(hdr({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 4] } }), 4)],
    ['1 data_offset', () => raw(hdr({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }), 4)],
    ['a missing shape', () => raw(hdr({ a: { dtype: 'F32', data_offsets: [0, 4] } }), 4)],
    ['a duplicate field', () => raw('{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', 4)],
    [
      'a lone surrogate',
      () => raw('{"__metadata__":{"k":"\\ud800"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
    ],
    ['a lone low surrogate', () => raw('{"__metadata__":{"k":"\\udc00"}}')],
    ['a raw control character', () => raw('{"__metadata__":{"k":"a\tb"}}')],
    ['a metadata number', () => raw('{"__metadata__":{"k":1}}')],
    ['nested metadata', () => raw('{"__metadata__":{"k":{"a":"b"}}}')],
    ['duplicate __metadata__', () => raw('{"__metadata__":{},"__metadata__":{}}')],
    [
      'a number out of range in an ignored field',
      () => raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1e999}}', 4),
    ],
    [
      'nesting past the limit',
      () => raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":${'['.repeat(130)}${']'.repeat(130)}}}`, 4),
    ],
    ['a gap', () => raw(hdr({ a: T('F32', [1], 4, 8) }), 8)],
    ['trailing bytes', () => raw(hdr(a4), 8)],
    ['an overlap', () => raw(hdr({ a: T('F32', [1], 0, 4), b: T('F32', [1], 0, 4) }), 4)],
    ['begin > end', () => raw(hdr({ a: T('U8', [0], 4, 0) }), 4)],
    ['a range past the data', () => raw(hdr({ a: T('F32', [2], 0, 8) }), 4)],
    ['a size that is not prod(shape) * itemsize', () => raw(hdr({ a: T('F32', [2], 0, 4) }), 4)],
    ['a sub-byte size that is not whole bytes', () => raw(hdr({ a: T('F4', [3], 0, 2) }), 2)],
    ['a shape whose size overflows', () => raw(hdr({ a: T('F32', [2 ** 32, 2 ** 32], 0, 0) }))],
    ['a dtype that is not a string', () => raw('{"a":{"dtype":1,"shape":[1],"data_offsets":[0,4]}}', 4)],
    ['a tensor that is not an object', () => raw('{"a":null}')],
  ]
  function rawBytes(b: Uint8Array): string {
    const p = fresh()
    writeFileSync(p, b)
    return p
  }
  it.each(refused)('%s is ERR_MMAP_FORMAT naming the file', (_name, make) => {
    const p = make()
    const e = thrown(() => openSafetensors(p))
    expect(e.code, e.message).toBe('ERR_MMAP_FORMAT')
    expect(e.path).toBe(p)
    expect(e.message).toMatch(/^not a valid safetensors file: /)
  })

  it('stricter than the reference: duplicate tensor names, unsafe integers, dtype objects', () => {
    for (const text of [
      '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}',
      '{"__metadata__":{"k":"v","k":"w"},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
      '{"a":{"dtype":"U8","shape":[0,9007199254740993],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
      '{"a":{"dtype":{"U8":null},"shape":[1],"data_offsets":[0,1]}}',
    ]) {
      expect(thrown(() => openSafetensors(raw(text, 1))).code).toBe('ERR_MMAP_FORMAT')
    }
  })

  it('accepted as the reference does: whitespace, escapes, surrogate pairs, extra fields, null metadata', () => {
    const p = raw(
      ' \n{"__metadata__":null,"a\\u0062":{"dtype":"F32","x":[{"y":[1.5e3,true,null]}],"shape":[1],"data_offsets":[0,4]}}  \t',
      new Uint8Array(Float32Array.from([7]).buffer),
    )
    using f = openSafetensors(p)
    expect(f.metadata).toEqual({})
    expect(f.tensor('ab').get(0)).toBe(7)
    using g = openSafetensors(raw('{"__metadata__":{"k":"\\ud83d\\ude00\\/"}}'))
    expect(g.metadata).toEqual({ k: '\u{1F600}/' })
  })

  it('looser than the reference (documented): an empty tensor anywhere inside the data', () => {
    const p = raw(hdr({ a: T('F32', [1], 0, 4), e: T('F32', [0], 2, 2), b: T('U8', [4], 4, 8) }), 8)
    using f = openSafetensors(p)
    expect(f.names()).toEqual(['a', 'e', 'b'])
    expect(f.tensor('e').size).toBe(0)
    expect(thrown(() => openSafetensors(raw(hdr({ a: T('F32', [1], 0, 4), e: T('F32', [0], 5, 5) }), 4))).code).toBe(
      'ERR_MMAP_FORMAT',
    )
  })

  it('other dtypes are listed with their name; tensor() of one is ERR_MMAP_FORMAT naming it', () => {
    const p = raw(hdr({ f8: T('F8_E4M3', [4], 0, 4), c: T('C64', [1], 4, 12), q: T('X99', [3], 12, 13) }), 13)
    using f = openSafetensors(p)
    expect(f.info('f8')).toEqual({
      dtype: 'F8_E4M3',
      shape: [4],
      byteOffset: f.info('c').byteOffset - 4,
      byteLength: 4,
    })
    expect(f.info('q').dtype).toBe('X99')
    for (const name of ['f8', 'c', 'q']) {
      const e = thrown(() => f.tensor(name))
      expect(e.code).toBe('ERR_MMAP_FORMAT')
      expect(e.message).toContain(f.info(name).dtype)
    }
    expect(thrown(() => [...f]).code).toBe('ERR_MMAP_FORMAT')
  })

  it('a tensor not aligned to its itemsize in the file: info() works, tensor() is ERR_MMAP_ALIGNMENT', () => {
    const p = raw(hdr({ u: T('U8', [1], 0, 1), f: T('F32', [1], 1, 5) }), 5)
    using f = openSafetensors(p)
    expect(f.info('f').byteOffset % 4).not.toBe(0)
    expect(thrown(() => f.tensor('f')).code).toBe('ERR_MMAP_ALIGNMENT')
    expect(f.tensor('u').get(0)).toBe(0)
  })
})
