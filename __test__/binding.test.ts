// The binding's boundary (issue #12): typed arguments, violations reported as ERR_MMAP_INTERNAL
// (never a crash), and errors that carry code, path and syscall as properties.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { DIST, expectCleanExit, importable, runChild, tempDir } from './helpers'

const dir = tempDir()
let n = 0
function file(bytes: number): string {
  const p = join(dir, `f${n++}.bin`)
  writeFileSync(p, new Uint8Array(bytes))
  return p
}

/**
 * Runs `body` (an async function body returning JSON) in a child process, with the binding as
 * `binding` (dist/native.js), dist/errors.js as `errors`, the package as `pkg`, and `props(fn)` /
 * `rejection(fn)`: what `fn` throws or rejects with, as plain data.
 */
function child(body: string): any {
  const r = runChild(`
    const binding = await import(${JSON.stringify(importable(join(DIST, 'native.js')))})
    const errors = await import(${JSON.stringify(importable(join(DIST, 'errors.js')))})
    const pkg = m
    const data = (e) => ({ name: e.name, code: e.code, path: e.path, syscall: e.syscall, message: e.message, cause: e.cause instanceof Error })
    const props = (fn) => { try { fn(); return 'returned' } catch (e) { return data(e) } }
    const rejection = async (fn) => { try { await fn(); return 'resolved' } catch (e) { return data(e) } }
    const outcome = await (async () => { ${body} })()
    console.log(JSON.stringify(outcome))
  `)
  expectCleanExit(r)
  const lines = r.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1])
}

describe('typed arguments: what TypeScript let through by mistake is ERR_MMAP_INTERNAL, never a crash', () => {
  it('a mode or advice outside the string enums', () => {
    const p = file(64)
    const out = child(`
      const m = binding.Mapping.open(${JSON.stringify(p)}, 'r', 0)
      const codes = (fn) => { const e = props(() => errors.native(fn)); return [e.code, e.cause] }
      return {
        open: codes(() => binding.Mapping.open(${JSON.stringify(p)}, 'w+', 0)),
        file: codes(() => binding.RegularFile.open(${JSON.stringify(p)}, 'R')),
        advise: codes(() => m.advise('WILLNEED')),
        notString: codes(() => m.advise(1)),
      }`)
    const internal = ['ERR_MMAP_INTERNAL', true] // Node-API's conversion error is the cause
    expect(out).toEqual({ open: internal, file: internal, advise: internal, notString: internal })
  })

  it('a size that is not a non-negative safe integer', () => {
    const p = file(64)
    const out = child(`
      const m = binding.Mapping.open(${JSON.stringify(p)}, 'r', 0)
      return [0.5, -1, NaN, Infinity, 2 ** 53].map((bad) => ({
        open: props(() => binding.Mapping.open(${JSON.stringify(p)}, 'r', bad)),
        anonymous: props(() => binding.Mapping.anonymous(bad)).code,
        buffer: props(() => m.buffer(bad)).code,
        advise: props(() => m.advise('normal', 0, bad)).code,
        public: props(() => errors.native(() => binding.Mapping.create(${JSON.stringify(join(dir, 'never'))}, bad, false))).code,
      }))`)
    for (const o of out) {
      expect(o.open).toMatchObject({ name: 'MmapNativeError', code: 'ERR_MMAP_INTERNAL', cause: false })
      expect(o.open.message).toMatch(
        /^the TypeScript layer let through offset .*, which is not a non-negative safe integer$/,
      )
      expect([o.anonymous, o.buffer, o.advise, o.public]).toEqual(Array(4).fill('ERR_MMAP_INTERNAL'))
    }
  })

  it('the enums the binding exports are the lists TypeScript validates against', () => {
    expect(
      child(`return { modes: binding.MODES, advice: binding.ADVICE, mode: binding.Mapping.anonymous(8).mode }`),
    ).toEqual({
      modes: ['r', 'r+', 'c'],
      advice: ['normal', 'sequential', 'random', 'willneed', 'dontneed'],
      mode: 'r+',
    })
  })

  it('a closed mapping is never touched: every call is ERR_MMAP_INTERNAL; the public API says ERR_MMAP_CLOSED', () => {
    const p = file(64)
    const out = child(`
      const m = binding.Mapping.open(${JSON.stringify(p)}, 'r+', 0)
      m.close([m.buffer()])
      const f = pkg.mmapFile(${JSON.stringify(p)}, { mode: 'r+' })
      f.close()
      return {
        native: [
          () => m.flush(), () => m.flushAsync(), () => m.advise('normal'), () => m.buffer(0, 8),
          () => m.window(0, 8), () => m.reduce('uint8', 'sum'),
        ].map((fn) => props(fn).code),
        closeAgain: props(() => m.close([])),
        public: [props(() => f.flush()).code, props(() => f.advise('normal')).code, (await rejection(() => f.flushAsync())).code],
      }`)
    expect(out).toEqual({
      native: Array(6).fill('ERR_MMAP_INTERNAL'),
      closeAgain: 'returned',
      public: ['ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED', 'ERR_MMAP_CLOSED'],
    })
  })
})

describe('typed errors: code, path and syscall are properties, the message is the plain detail', () => {
  it('an OS error thrown by the binding, and the MmapError users see', () => {
    const missing = join(dir, 'missing.bin')
    const out = child(`
      const raw = props(() => binding.Mapping.open(${JSON.stringify(missing)}, 'r', 0))
      const seen = props(() => errors.native(() => binding.Mapping.open(${JSON.stringify(missing)}, 'r', 0)))
      return { raw, seen }`)
    expect(out.raw).toEqual({
      name: 'MmapNativeError',
      code: 'ENOENT',
      path: missing,
      syscall: 'open',
      message: expect.not.stringMatching(/^\{|ENOENT/),
      cause: false,
    })
    expect(out.seen).toEqual({
      name: 'MmapError',
      code: 'ENOENT',
      path: missing,
      syscall: 'open',
      message: `ENOENT: no such file or directory, open '${missing}'`,
      cause: false,
    })
  })

  it("a package error with a path: the path is a property, not in the binding's message", () => {
    const p = file(64)
    const out = child(`
      const m = binding.Mapping.open(${JSON.stringify(p)}, 'r', 0)
      return { raw: props(() => m.flush()), seen: props(() => errors.native(() => m.flush())) }`)
    expect(out.raw).toMatchObject({
      name: 'MmapNativeError',
      code: 'ERR_MMAP_READONLY',
      path: p,
      message: "cannot flush a map opened read-only (mode 'r')",
    })
    expect(out.raw.syscall).toBeUndefined()
    expect(out.seen).toMatchObject({
      name: 'MmapError',
      code: 'ERR_MMAP_READONLY',
      path: p,
      message: `cannot flush a map opened read-only (mode 'r') (path '${p}')`,
    })
  })

  it('flushAsync() rejects with the same properties as a thrown error, and the public API with the same MmapError as flush()', () => {
    const p = file(64)
    const out = child(`
      const m = binding.Mapping.open(${JSON.stringify(p)}, 'r', 0)
      const pending = props(() => { m.flushAsync().catch(() => {}) })
      const f = pkg.mmapFile(${JSON.stringify(p)})
      return {
        pending,
        raw: await rejection(() => m.flushAsync()),
        thrown: props(() => m.flush()),
        publicAsync: await rejection(() => f.flushAsync()),
        publicSync: props(() => f.flush()),
      }`)
    expect(out.pending).toBe('returned') // a Promise-returning call reports failures by rejecting
    expect(out.raw).toEqual(out.thrown)
    expect(out.raw).toMatchObject({ name: 'MmapNativeError', code: 'ERR_MMAP_READONLY', path: p })
    expect(out.publicAsync).toEqual(out.publicSync)
    expect(out.publicAsync).toMatchObject({ name: 'MmapError', code: 'ERR_MMAP_READONLY', path: p })
  })

  it('errors made in a worker thread are typed too (each thread has its own environment)', () => {
    const missing = join(dir, 'missing-in-worker.bin')
    const out = child(`
      const { Worker } = await import('node:worker_threads')
      const src = \`
        const { parentPort } = require('node:worker_threads')
        const binding = require(\${JSON.stringify(${JSON.stringify(join(DIST, 'native.js'))})})
        try { binding.Mapping.open(\${JSON.stringify(${JSON.stringify(missing)})}, 'r', 0) }
        catch (e) { parentPort.postMessage({ name: e.name, code: e.code, path: e.path, syscall: e.syscall }) }
      \`
      const inWorker = await new Promise((resolve, reject) => {
        const w = new Worker(src, { eval: true, execArgv: [] }) // CommonJS, not the parent's --input-type
        w.once('message', resolve)
        w.once('error', reject)
      })
      const after = props(() => binding.Mapping.open(${JSON.stringify(missing)}, 'r', 0))
      return { inWorker, after: [after.name, after.code] }`)
    expect(out).toEqual({
      inWorker: { name: 'MmapNativeError', code: 'ENOENT', path: missing, syscall: 'open' },
      after: ['MmapNativeError', 'ENOENT'],
    })
  })
})
