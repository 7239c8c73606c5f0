// The binding's boundary (issue #12): typed arguments, violations reported as ERR_MMAP_INTERNAL
// (never a crash), and errors that carry code, path and syscall as properties.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { fixture, tempDir } from './helpers'

const dir = tempDir()
let n = 0
function file(bytes: number): string {
  const p = join(dir, `f${n++}.bin`)
  writeFileSync(p, new Uint8Array(bytes))
  return p
}

/** A scenario of fixtures/binding.mjs in a child process: its outcome. */
const child = (scenario: string, ...args: string[]): any => fixture('binding', scenario, args)

describe('typed arguments: what TypeScript let through by mistake is ERR_MMAP_INTERNAL, never a crash', () => {
  it('a mode or advice outside the string enums', () => {
    const p = file(64)
    const out = child('badEnums', p)
    const internal = ['ERR_MMAP_INTERNAL', true] // Node-API's conversion error is the cause
    expect(out).toEqual({ open: internal, file: internal, advise: internal, notString: internal })
  })

  it('a size that is not a non-negative safe integer', () => {
    const p = file(64)
    const out = child('badSizes', p, join(dir, 'never'))
    for (const o of out) {
      expect(o.open).toMatchObject({ name: 'MmapNativeError', code: 'ERR_MMAP_INTERNAL', cause: false })
      expect(o.open.message).toMatch(
        /^the TypeScript layer let through offset .*, which is not a non-negative safe integer$/,
      )
      expect([o.anonymous, o.buffer, o.advise, o.public]).toEqual(Array(4).fill('ERR_MMAP_INTERNAL'))
    }
  })

  it('the enums the binding exports are the lists TypeScript validates against', () => {
    expect(child('enums')).toEqual({
      modes: ['r', 'r+', 'c'],
      advice: ['normal', 'sequential', 'random', 'willneed', 'dontneed'],
      mode: 'r+',
    })
  })

  it('a closed mapping is never touched: every call is ERR_MMAP_INTERNAL; the public API says ERR_MMAP_CLOSED', () => {
    const p = file(64)
    const out = child('closed', p)
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
    const out = child('osError', missing)
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
    const out = child('packageError', p)
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
    const out = child('flushAsync', p)
    expect(out.pending).toBe('returned') // a Promise-returning call reports failures by rejecting
    expect(out.raw).toEqual(out.thrown)
    expect(out.raw).toMatchObject({ name: 'MmapNativeError', code: 'ERR_MMAP_READONLY', path: p })
    expect(out.publicAsync).toEqual(out.publicSync)
    expect(out.publicAsync).toMatchObject({ name: 'MmapError', code: 'ERR_MMAP_READONLY', path: p })
  })

  it('errors made in a worker thread are typed too (each thread has its own environment)', () => {
    const missing = join(dir, 'missing-in-worker.bin')
    const out = child('inWorker', missing)
    expect(out).toEqual({
      inWorker: { name: 'MmapNativeError', code: 'ENOENT', path: missing, syscall: 'open' },
      after: ['MmapNativeError', 'ENOENT'],
    })
  })
})
