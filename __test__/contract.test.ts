// The public contract where a hostile review (issue #11, items 9-11) found it broken: classes that
// could be half built, read-only members that could be assigned, the lifecycle behaving one way
// on files and another on arrays, an error code nobody documented, and the CLI naming a .npy
// error differently from openNpy. Whatever misuses memory (a member changed under the native
// code) runs in a child process, so a crash fails the test instead of the runner.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { inspect } from 'node:util'

import { describe, expect, it } from 'vitest'

import {
  createSharedBuffer,
  MappedArray,
  MmapArray,
  MmapCache,
  MmapError,
  MmapFile,
  mmapFile,
  openNpy,
  SharedMemoryArray,
} from '../dist/index.mjs'
import { DIST, expectCleanExit, importable, posixTest, runChild, tempDir, thrown, WINDOWS } from './helpers'

const ROOT = resolve(__dirname, '..')
const dir = tempDir()
let n = 0
const file = (bytes: number[]): string => {
  const p = join(dir, `f${n++}.bin`)
  writeFileSync(p, Uint8Array.from(bytes))
  return p
}
const f64 = (values: number[]): string => {
  const p = join(dir, `f${n++}.f8`)
  writeFileSync(p, new Uint8Array(new Float64Array(values).buffer))
  return p
}

/** The child's helpers; bodies are async function bodies whose `return` value is printed as JSON. */
const PRELUDE = `
const dir = ${JSON.stringify(dir)}
let n = 0
const f64 = (values) => { const p = dir + '/c' + process.pid + '-' + n++ + '.f8'; fs.writeFileSync(p, new Uint8Array(new Float64Array(values).buffer)); return p }
const codeOf = (e) => (e instanceof m.MmapError ? e.code : e instanceof TypeError ? 'TypeError' : String(e))
const code = (fn) => { try { fn(); return 'ok' } catch (e) { return codeOf(e) } }
const out = (fn) => { try { return fn() } catch (e) { return codeOf(e) } }
/** An assignment in sloppy-mode code, where assigning to a getter is silently ignored. */
const sloppy = new Function('o', 'k', 'v', 'o[k] = v')
`

function child(body: string): any {
  const r = runChild(
    `${PRELUDE}
const outcome = await (async () => {
${body}
})()
console.log(JSON.stringify(outcome, (k, v) => (typeof v === 'bigint' ? v + 'n' : v)))`,
  )
  expectCleanExit(r)
  const lines = r.stdout.trim().split(/\r?\n/)
  return JSON.parse(lines[lines.length - 1])
}

// -------------------------------------------------------------------------------------------------
// Item 9: no half-built objects.

describe('constructors (issue #11, item 9)', () => {
  it('new MmapFile(path, options) is the same as mmapFile(path, options)', () => {
    const p = file([1, 2, 3, 4, 5, 6, 7, 8])
    const a = new MmapFile(p)
    using b = mmapFile(p)
    expect(a).toBeInstanceOf(MmapFile)
    expect(b).toBeInstanceOf(MmapFile)
    for (const f of [a, b]) {
      expect([[...f.bytes], f.length, f.mode, f.readonly, f.closed, f.path]).toEqual([
        [1, 2, 3, 4, 5, 6, 7, 8],
        8,
        'r',
        true,
        false,
        resolve(p),
      ])
    }
    a.close()
    expect([a.closed, a.bytes.length, a.length]).toEqual([true, 0, 8])
    a.close()

    using w = new MmapFile(p, { mode: 'r+', offset: 2, length: 3 })
    expect([...w.bytes]).toEqual([3, 4, 5])
    w.bytes[0] = 30
    w.flush()
    expect([...readFileSync(p)]).toEqual([1, 2, 30, 4, 5, 6, 7, 8])

    class Tagged extends MmapFile {}
    using t = new Tagged(p, { mode: 'c' })
    expect(t).toBeInstanceOf(Tagged)
    expect([t.mode, t.length]).toEqual(['c', 8])
  })

  it('new MmapFile with bad arguments is MmapError ERR_MMAP_INVALID_ARG, never a half-built object', () => {
    const p = file([1, 2, 3, 4])
    const lookalike = { buffer: new ArrayBuffer(8), byteLength: 8, mode: 'r', path: p, closed: false, close() {} }
    const bad: unknown[][] = [
      [],
      [42],
      [''],
      [{}],
      [lookalike],
      [p, 'r'],
      [p, []],
      [p, { mode: 'w' }],
      [p, { offset: -1 }],
      [p, { length: 1.5 }],
    ]
    const Ctor = MmapFile as unknown as new (...args: unknown[]) => MmapFile
    for (const args of bad) {
      const e = thrown(() => new Ctor(...args))
      expect(e, JSON.stringify(args)).toBeInstanceOf(MmapError)
      expect(e.code, JSON.stringify(args)).toBe('ERR_MMAP_INVALID_ARG')
    }
    expect(thrown(() => new MmapFile(join(dir, 'missing.bin')))).toMatchObject({ code: 'ENOENT' })
  })

  it('MappedArray constructed directly is MmapError ERR_MMAP_INVALID_ARG, never a half-built array', () => {
    const p = f64([1, 2, 3, 4])
    const lookalike = { map: { buffer: new ArrayBuffer(32), byteLength: 32, mode: 'r+', path: p }, shape: [4] }
    const Ctor = MappedArray as unknown as new (...args: unknown[]) => MappedArray
    for (const args of [[], [undefined], [null], [{}], [p], [p, { shape: [4] }], [lookalike]]) {
      const e = thrown(() => new Ctor(...args))
      expect(e, String(args[0])).toBeInstanceOf(MmapError)
      expect(e.code, String(args[0])).toBe('ERR_MMAP_INVALID_ARG')
    }
    using a = new MmapArray(p, { mode: 'r' })
    expect(a).toBeInstanceOf(MappedArray)
    expect(a.sum()).toBe(10)
  })
})

// -------------------------------------------------------------------------------------------------
// Item 10: read-only members are read-only at run time.

const ARRAY_MEMBERS = ['path', 'shape', 'dtype', 'mode', 'ndim', 'size', 'itemsize', 'byteLength']

describe('read-only members (issue #11, item 10)', () => {
  it('arrays: assigning path, shape, dtype, mode, ndim, size, itemsize or byteLength changes nothing (MmapArray, SharedMemoryArray, createSharedBuffer)', () => {
    const result = child(`
    const HOSTILE = { path: '/tmp/elsewhere', shape: [1000], dtype: 'int8', mode: 'r', ndim: 0, size: 1000, itemsize: 1, byteLength: 1 }
    const makers = {
      MmapArray: () => m.MmapArray.open(f64([1, 2, 3, 4])),
      SharedMemoryArray: () => m.SharedMemoryArray.create({ shape: [4] }),
      createSharedBuffer: () => m.createSharedBuffer('float64', 4),
    }
    const looks = (a) => JSON.stringify([a.path, a.shape, a.dtype, a.mode, a.ndim, a.size, a.itemsize, a.byteLength, a.length, a.readonly])
    /** What the array does, keyed so that a difference names the call. */
    const does = (a) => ({
      'get(3)': out(() => a.get(3)),
      'get(999)': out(() => a.get(999)),
      'get(0, 0)': out(() => a.get(0, 0)),
      'set(1, 2)': code(() => a.set(1, 2)),
      'set(1, 2n)': code(() => a.set(1, 2n)),
      'sum()': out(() => a.sum()),
      'max()': out(() => a.max()),
      'slice(1).length': out(() => a.slice(1).length),
      'chunks(3)': out(() => [...a.chunks(3)].map((c) => c.data.length)),
      'array.length': out(() => a.array.length),
      'info()': JSON.stringify(a.info()),
      'fill(1).sum()': out(() => { const s = a.fill(1).sum(); a.array.set([1, 2, 3, 4]); return s }),
    })
    const result = {}
    for (const [kind, make] of Object.entries(makers)) {
      const a = make()
      a.array.set([1, 2, 3, 4])
      const before = { looks: looks(a), does: does(a) }
      const strict = {}
      const unchanged = {}
      for (const key of Object.keys(HOSTILE)) {
        strict[key] = code(() => { a[key] = HOSTILE[key] })
        sloppy(a, key, HOSTILE[key])
        unchanged[key] = looks(a) === before.looks && JSON.stringify(does(a)) === JSON.stringify(before.does)
      }
      // Shadowing a member with an own property changes what it reads, never what the array does.
      for (const key of Object.keys(HOSTILE)) Object.defineProperty(a, key, { value: HOSTILE[key] })
      const shadowed = does(a)
      result[kind] = { strict, unchanged, shadowed: JSON.stringify(shadowed) === JSON.stringify(before.does) ? 'same' : shadowed }
      if (kind === 'SharedMemoryArray') a.unlink()
      else a.close()
    }
    return result`)
    const every = (v: unknown) => Object.fromEntries(ARRAY_MEMBERS.map((k) => [k, v]))
    for (const kind of ['MmapArray', 'SharedMemoryArray', 'createSharedBuffer']) {
      expect(result[kind], kind).toEqual({ strict: every('TypeError'), unchanged: every(true), shadowed: 'same' })
    }
  })

  it("an 'r' array stays read-only when its mode is assigned, and an 'r+' one stays writable", () => {
    expect(
      child(`
      const p = f64([1, 2, 3, 4])
      const r = m.MmapArray.open(p, { mode: 'r' })
      const strict = code(() => { r.mode = 'r+' })
      sloppy(r, 'mode', 'r+')
      const w = m.MmapArray.open(p)
      code(() => { w.mode = 'r' })
      sloppy(w, 'mode', 'r')
      Object.defineProperty(w, 'mode', { value: 'r' })
      return {
        strict,
        r: [r.mode, r.readonly, r.info().readonly, code(() => r.set(0, 9)), code(() => r.fill(9)), code(() => r.flush())],
        w: [code(() => w.set(0, 5)), code(() => w.set(1, 6n)), code(() => w.flush())],
        file: [...new Float64Array(new Uint8Array(fs.readFileSync(p)).buffer)],
      }`),
    ).toEqual({
      strict: 'TypeError',
      r: ['r', true, true, 'ERR_MMAP_READONLY', 'ERR_MMAP_READONLY', 'ERR_MMAP_READONLY'],
      w: ['ok', 'ok', 'ok'],
      file: [5, 6, 3, 4],
    })
  })

  it('assigning dtype does not change what the reductions compute (an int8 array at an odd offset)', () => {
    expect(
      child(`
      const p = dir + '/i8-' + process.pid + '.bin'
      fs.writeFileSync(p, Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]))
      const a = m.MmapArray.open(p, { dtype: 'int8', offset: 1, shape: [8], mode: 'r' })
      const strict = code(() => { a.dtype = 'float64' })
      sloppy(a, 'dtype', 'float64')
      sloppy(a, 'itemsize', 8)
      return { strict, dtype: a.dtype, itemsize: a.itemsize, sum: a.sum(), min: a.min(), max: a.max(), mean: a.mean(), get: a.get(7) }`),
    ).toEqual({ strict: 'TypeError', dtype: 'int8', itemsize: 1, sum: 36, min: 1, max: 8, mean: 4.5, get: 8 })
  })

  it('the shape handed out is frozen: writing into it or assigning a new one changes nothing', () => {
    expect(
      child(`
      const a = m.MmapArray.open(f64([1, 2, 3, 4]))
      const s = a.shape
      return {
        frozen: Object.isFrozen(s),
        same: a.shape === s,
        write: code(() => { s[0] = 1000 }),
        push: code(() => s.push(1)),
        assign: code(() => { a.shape = [1000] }),
        shape: [...a.shape],
        'get(999)': code(() => a.get(999)),
        'get(3)': a.get(3),
        infoCopy: (() => { const i = a.info(); i.shape[0] = 1000; return a.shape[0] })(),
        length: a.length,
      }`),
    ).toEqual({
      frozen: true,
      same: true,
      write: 'TypeError',
      push: 'TypeError',
      assign: 'TypeError',
      shape: [4],
      'get(999)': 'ERR_MMAP_INVALID_ARG',
      'get(3)': 4,
      infoCopy: 4,
      length: 4,
    })
  })

  it('util.inspect (console.log) still shows the members, now getters rather than own properties', () => {
    using a = MmapArray.open(f64([1, 2, 3, 4]), { mode: 'r' })
    using f = mmapFile(file([1, 2]))
    expect(inspect(a)).toMatch(/^MmapArray \{[^]*shape: \[ 4 \],[^]*dtype: 'float64',[^]*mode: 'r',/)
    expect(inspect({ deeper: { f } })).toMatch(/MmapFile \{[^]*mode: 'r',[^]*length: 2,/)
  })

  it('MmapFile: assigning bytes, length, mode or path changes nothing', () => {
    const p = file([1, 2, 3, 4])
    expect(
      child(`
      const p = ${JSON.stringify(p)}
      const f = m.mmapFile(p)
      const bytes = f.bytes
      const HOSTILE = { bytes: new Uint8Array(100), length: 100, mode: 'r+', path: '/tmp/elsewhere' }
      const strict = Object.fromEntries(Object.keys(HOSTILE).map((k) => [k, code(() => { f[k] = HOSTILE[k] })]))
      for (const k of Object.keys(HOSTILE)) sloppy(f, k, HOSTILE[k])
      const looks = { sameBytes: f.bytes === bytes, bytes: [...f.bytes], length: f.length, mode: f.mode, path: f.path === p, readonly: f.readonly }
      for (const k of Object.keys(HOSTILE)) Object.defineProperty(f, k, { value: HOSTILE[k] })
      const flush = (() => { try { f.flush(); return 'ok' } catch (e) { return [e.code, e.path === p] } })()
      const flushAsync = await f.flushAsync().then(() => 'ok', (e) => e.code)
      m.MmapFile.prototype.close.call(f)
      return { strict, looks, flush, flushAsync, closed: f.closed, bytesAfterClose: bytes.length }`),
    ).toEqual({
      strict: { bytes: 'TypeError', length: 'TypeError', mode: 'TypeError', path: 'TypeError' },
      looks: { sameBytes: true, bytes: [1, 2, 3, 4], length: 4, mode: 'r', path: true, readonly: true },
      flush: ['ERR_MMAP_READONLY', true],
      flushAsync: 'ERR_MMAP_READONLY',
      closed: true,
      bytesAfterClose: 0,
    })
  })
})

// -------------------------------------------------------------------------------------------------
// Item 11: one lifecycle; every code documented; the CLI agrees with openNpy.

describe('one lifecycle for files and arrays (issue #11, item 11)', () => {
  const makers: Record<string, () => { close(): void; [k: string]: any }> = {
    mmapFile: () => mmapFile(file([1, 2, 3, 4, 5, 6, 7, 8]), { mode: 'r+' }),
    'new MmapFile': () => new MmapFile(file([1, 2, 3, 4, 5, 6, 7, 8]), { mode: 'r+' }),
    MmapArray: () => MmapArray.open(f64([1, 2])),
    SharedMemoryArray: () => SharedMemoryArray.create({ shape: [2] }),
    createSharedBuffer: () => createSharedBuffer('int32', 2),
  }

  for (const [kind, make] of Object.entries(makers)) {
    it(`${kind}: flushAsync() after close() rejects with ERR_MMAP_CLOSED (never throws); flush, advise, close, dispose as everywhere`, async () => {
      const x = make()
      try {
        expect(thrown(() => x.advise('often')).code).toBe('ERR_MMAP_INVALID_ARG')
        await x.flushAsync()
        x.close()
        let pending: unknown
        expect(() => {
          pending = x.flushAsync()
        }).not.toThrow()
        expect(pending).toBeInstanceOf(Promise)
        await expect(pending).rejects.toMatchObject({ name: 'MmapError', code: 'ERR_MMAP_CLOSED' })
        expect(thrown(() => x.flush()).code).toBe('ERR_MMAP_CLOSED')
        expect(thrown(() => x.advise('normal')).code).toBe('ERR_MMAP_CLOSED')
        expect(x.closed).toBe(true)
        x.close()
        x[Symbol.dispose]()
      } finally {
        if (x instanceof SharedMemoryArray) x.unlink()
      }
    })
  }

  it("'r' maps: flushAsync() rejects with ERR_MMAP_READONLY and flush() throws it, on a file as on an array", async () => {
    for (const x of [mmapFile(file([1, 2])), MmapArray.open(f64([1, 2]), { mode: 'r' })]) {
      let pending: Promise<void> | undefined
      expect(() => {
        pending = x.flushAsync()
      }).not.toThrow()
      await expect(pending).rejects.toMatchObject({ code: 'ERR_MMAP_READONLY' })
      expect(thrown(() => x.flush()).code).toBe('ERR_MMAP_READONLY')
      x.close()
    }
  })

  it('MmapFile and the arrays share one implementation of closed, flush, flushAsync, advise, close and dispose', () => {
    for (const member of ['flush', 'flushAsync', 'advise', 'close', Symbol.dispose] as const) {
      const fileImpl = (MmapFile.prototype as any)[member]
      expect(typeof fileImpl, String(member)).toBe('function')
      expect((MmapArray.prototype as any)[member], String(member)).toBe(fileImpl)
      expect((SharedMemoryArray.prototype as any)[member], String(member)).toBe(fileImpl)
    }
    const closed = (proto: object) => {
      for (let p = proto; p; p = Object.getPrototypeOf(p)) {
        const d = Object.getOwnPropertyDescriptor(p, 'closed')
        if (d) return d.get
      }
    }
    expect(closed(MmapArray.prototype)).toBe(closed(MmapFile.prototype))
  })
})

/** Every `ERR_MMAP_*` code in the sources: JS, the binding, and the Rust core. */
function codesInSources(): Set<string> {
  const codes = new Set<string>()
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) {
        if (name !== 'target' && name !== 'node_modules') walk(p)
      } else if (/\.(ts|rs)$/.test(name) && !name.endsWith('.d.ts')) {
        for (const c of readFileSync(p, 'utf8').match(/ERR_MMAP_[A-Z][A-Z_]*[A-Z]/g) ?? []) codes.add(c)
      }
    }
  }
  for (const d of ['js', 'src', 'crates']) walk(join(ROOT, d))
  return codes
}

describe('error codes (issue #11, item 11)', () => {
  it("every ERR_MMAP_* code in the sources is in the README's Errors table and in ErrorCode", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(
      readme.indexOf('### Errors\n'),
      readme.indexOf('\n### ', readme.indexOf('### Errors\n') + 1),
    )
    const documented = new Set([...section.matchAll(/^\| `(ERR_MMAP_[A-Z_]+)`/gm)].map((m) => m[1]))
    const typed = readFileSync(join(DIST, 'errors.d.ts'), 'utf8')
    const codes = codesInSources()
    expect(codes).toContain('ERR_MMAP_INTERNAL')
    for (const c of codes) {
      expect(documented, `${c} in the README's Errors table`).toContain(c)
      expect(typed, `${c} in ErrorCode`).toContain(`'${c}'`)
    }
  })

  it("a failure inside the binding that is not the caller's reaches users as MmapError ERR_MMAP_INTERNAL", () => {
    const p = file(Array.from({ length: 64 }, () => 0))
    expect(
      child(`
      const { Mapping: NativeMap } = await import(${JSON.stringify(importable(join(DIST, 'native.js')))})
      const errors = await import(${JSON.stringify(importable(join(DIST, 'errors.js')))})
      const what = (fn) => { try { fn(); return 'ok' } catch (e) { return [e instanceof m.MmapError, e.code, e.cause instanceof Error] } }
      const nm = NativeMap.open(${JSON.stringify(p)}, 'r', 0)
      return {
        // The binding's own ERR_MMAP_INTERNAL (close() given a buffer of no mapping of its own).
        foreign: what(() => errors.native(() => nm.close([new ArrayBuffer(8)]))),
        // Node-API refusing an argument the JS side should never have passed.
        conversion: what(() => errors.native(() => NativeMap.open(42, 'r', 0))),
      }`),
    ).toEqual({ foreign: [true, 'ERR_MMAP_INTERNAL', false], conversion: [true, 'ERR_MMAP_INTERNAL', true] })
  })
})

/** A .npy file, version 1.0, with `descr` and `shape` as given and `data` after the header. */
function npy(descr: string, shape: string, data: Uint8Array): string {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`
  const text = new TextEncoder().encode(dict.padEnd(117) + '\n')
  const out = new Uint8Array(10 + text.length + data.length)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
  new DataView(out.buffer).setUint16(8, text.length, true)
  out.set(text, 10)
  out.set(data, 10 + text.length)
  const p = join(dir, `f${n++}.npy`)
  writeFileSync(p, out)
  return p
}

describe('CLI and openNpy agree (issue #11, item 11)', () => {
  const CLI = join(DIST, 'cli.js')
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8' })
    return { status: r.status, code: r.stdout ? JSON.parse(r.stdout).error?.code : undefined, stderr: r.stderr }
  }

  it('memmap info, head and stats of a big-endian or unsupported .npy give ERR_MMAP_FORMAT, as openNpy does', () => {
    for (const [descr, data] of [
      ['>f8', new Uint8Array(16)],
      ['>i4', new Uint8Array(8)],
      ['<c16', new Uint8Array(32)],
      ['|O', new Uint8Array(16)],
    ] as const) {
      const p = npy(descr, '(2,)', data)
      const e = thrown(() => openNpy(p))
      expect(e, descr).toBeInstanceOf(MmapError)
      expect(e.code, descr).toBe('ERR_MMAP_FORMAT')
      for (const command of ['info', 'head', 'stats']) {
        const r = cli(command, p)
        expect([r.status, r.code], `${command} ${descr}: ${r.stderr}`).toEqual([1, 'ERR_MMAP_FORMAT'])
      }
    }
  })

  it('memmap info of a good .npy reports what openNpy maps', () => {
    const p = npy('<i2', '(2, 3)', new Uint8Array(12))
    const r = spawnSync(process.execPath, [CLI, 'info', p, '--json'], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    using a = openNpy(p)
    expect(JSON.parse(r.stdout)).toMatchObject({
      format: 'npy 1.0',
      dtype: a.dtype,
      shape: [...a.shape],
      dataOffset: 128,
    })
  })
})

describe('members that steer destructive or bounded work are private state', () => {
  it('MmapCache.maxSize cannot be assigned: eviction still keeps at most the constructed size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'memmap-contract-cache-'))
    try {
      const files = [0, 1, 2].map((i) => {
        const p = join(dir, `${i}.bin`)
        writeFileSync(p, new Uint8Array(8))
        return p
      })
      const cache = new MmapCache({ maxSize: 1 })
      expect(() => {
        ;(cache as { maxSize: number }).maxSize = 100
      }).toThrow(TypeError)
      const [a] = files.map((p) => cache.getOrCreate(p))
      expect(cache.maxSize).toBe(1)
      expect(cache.size).toBe(1)
      expect(a.closed).toBe(true)
      cache.clear()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.skipIf(WINDOWS)(
    posixTest(
      'SharedMemoryArray.unlink() removes its own region even if path is redefined on the object',
      'regions are not files on Windows',
    ),
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'memmap-contract-unlink-'))
      try {
        const victim = join(dir, 'victim')
        writeFileSync(victim, 'keep')
        const s = SharedMemoryArray.create({ shape: 2 })
        const region = s.path
        Object.defineProperty(s, 'path', { value: victim })
        s.unlink()
        expect(existsSync(victim)).toBe(true)
        expect(existsSync(region)).toBe(false)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )
})
