// js/mmap-file.ts (mmapFile, MmapFile) and the native mapping under it, as JavaScript sees it: one
// zero-copy, detachable buffer per mapping. A few tests reach one layer down, to js/mapping.ts's
// Mapping (create, anonymous memory) and the binding (a buffer Node refuses): the same mapping
// without the MmapFile around it.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { constants } from 'node:buffer'
import { execFileSync } from 'node:child_process'

import { describe, expect, it } from 'vitest'

import { MmapError, mmapFile } from '../dist/index.mjs'
import { Mapping } from '../dist/mapping.js'
import {
  DIST,
  droppedMappings,
  expectCleanExit,
  importable,
  mappingsOf,
  NOT_ON_WINDOWS,
  posixCheck,
  posixTest,
  runChild,
  tempDir,
  thrown,
  WINDOWS,
} from './helpers'

const dir = tempDir()
let n = 0
function file(bytes: number | Uint8Array): string {
  const p = join(dir, `f${n++}.bin`)
  writeFileSync(p, typeof bytes === 'number' ? new Uint8Array(bytes) : bytes)
  return p
}

describe('zero-copy', () => {
  it('a write through one mapping is visible through a second mapping at once', () => {
    const p = file(64)
    using a = mmapFile(p, { mode: 'r+' })
    using b = mmapFile(p, { mode: 'r' })
    a.bytes[10] = 77
    expect(b.bytes[10]).toBe(77)
    const f64 = new Float64Array(a.bytes.buffer)
    f64[7] = Math.PI
    expect(new Float64Array(b.bytes.buffer)[7]).toBe(Math.PI)
  })

  it('reaches the file: fs.readFileSync sees the write after flush()', async () => {
    const p = file(4096)
    using a = mmapFile(p, { mode: 'r+' })
    a.bytes.set([1, 2, 3], 100)
    a.flush()
    expect([...readFileSync(p).subarray(100, 103)]).toEqual([1, 2, 3])
    a.bytes[200] = 9
    await a.flushAsync()
    expect(readFileSync(p)[200]).toBe(9)
  })

  it('maps a window at any offset, page-aligned or not', () => {
    const p = file(Uint8Array.from({ length: 10000 }, (_, i) => i % 251))
    using w = mmapFile(p, { offset: 4099, length: 10 })
    expect(w.length).toBe(10)
    expect([...w.bytes]).toEqual(Array.from({ length: 10 }, (_, i) => (4099 + i) % 251))
    using tail = mmapFile(p, { offset: 9990 })
    expect(tail.length).toBe(10)
  })

  it('opens 1 GiB without copying it: RSS does not grow by the file size', () => {
    const p = join(dir, 'gib.bin')
    writeFileSync(p, '')
    truncateSync(p, 2 ** 30)
    const r = runChild(`
      const before = process.memoryUsage().rss
      const t0 = process.hrtime.bigint()
      const f = m.mmapFile(${JSON.stringify(p)})
      const t1 = process.hrtime.bigint()
      const after = process.memoryUsage().rss
      if (f.length !== 2 ** 30) throw new Error('length ' + f.length)
      console.log(JSON.stringify({ grew: after - before, openMicros: Number(t1 - t0) / 1000 }))
      f.close()
    `)
    expectCleanExit(r)
    const { grew } = JSON.parse(r.stdout)
    expect(grew).toBeLessThan(64 * 2 ** 20)
  })

  it('an empty file is an empty, usable map', () => {
    const p = file(0)
    using f = mmapFile(p, { mode: 'r+' })
    expect(f.length).toBe(0)
    expect(f.bytes.length).toBe(0)
    f.flush()
    f.close()
    expect(f.closed).toBe(true)
  })
})

describe('close()', () => {
  it('detaches every view, then later accesses are harmless and the process exits 0', () => {
    const p = file(Uint8Array.from([5, 6, 7, 8, 9, 10, 11, 12]))
    const r = runChild(`
      const f = m.mmapFile(${JSON.stringify(p)}, { mode: 'r+' })
      const whole = f.bytes
      const sub = f.bytes.subarray(2, 6)
      const f64 = new Float64Array(f.bytes.buffer)
      f.close()
      const lengths = [whole.length, sub.length, f64.length, f.bytes.byteLength, f.bytes.buffer.byteLength]
      const reads = [whole[0], sub[1], f64[0]]
      whole[0] = 1; sub[0] = 2; f64[0] = 3
      f.close()
      let code = null
      try { f.flush() } catch (e) { code = e.code }
      let code2 = null
      try { f.advise('willneed') } catch (e) { code2 = e.code }
      console.log(JSON.stringify({ lengths, reads: reads.map(String), code, code2, closed: f.closed }))
    `)
    expectCleanExit(r)
    expect(JSON.parse(r.stdout)).toEqual({
      lengths: [0, 0, 0, 0, 0],
      reads: ['undefined', 'undefined', 'undefined'],
      code: 'ERR_MMAP_CLOSED',
      code2: 'ERR_MMAP_CLOSED',
      closed: true,
    })
    // Writes after close reached neither the file nor anything else.
    expect([...readFileSync(p)]).toEqual([5, 6, 7, 8, 9, 10, 11, 12])
  })

  it.skipIf(WINDOWS)(posixTest('unmaps at once: the mapping leaves /proc/self/maps', NOT_ON_WINDOWS.proc), () => {
    const p = file(8192)
    const f = mmapFile(p)
    expect(mappingsOf(p)).toBe(1)
    f.close()
    expect(mappingsOf(p)).toBe(0)
  })

  it('typed-array methods on a detached view throw TypeError, not crash', () => {
    const p = file(16)
    const r = runChild(`
      const f = m.mmapFile(${JSON.stringify(p)}, { mode: 'r+' })
      const v = f.bytes
      f.close()
      let name = null
      try { v.fill(1) } catch (e) { name = e.constructor.name }
      console.log(name)
    `)
    expectCleanExit(r)
    expect(r.stdout.trim()).toBe('TypeError')
  })

  it('a close() while flushAsync() is in flight settles both without a crash', () => {
    const p = file(1 << 20)
    const r = runChild(`
      const f = m.mmapFile(${JSON.stringify(p)}, { mode: 'r+' })
      f.bytes.fill(1)
      const pending = f.flushAsync()
      f.close()
      await pending
      console.log(fs.readFileSync(${JSON.stringify(p)})[12345])
    `)
    expectCleanExit(r)
    expect(r.stdout.trim()).toBe('1')
  })
})

describe("mode 'r'", () => {
  it('a write into the bytes neither crashes the process nor reaches the file', () => {
    const p = file(Uint8Array.from([1, 2, 3, 4]))
    const r = runChild(`
      const f = m.mmapFile(${JSON.stringify(p)})
      f.bytes[0] = 200
      f.bytes.fill(9, 1)
      new Uint32Array(f.bytes.buffer)[0] = 0xdeadbeef
      let code = null
      try { f.flush() } catch (e) { code = e.code }
      f.close()
      console.log(code)
    `)
    expectCleanExit(r)
    expect(r.stdout.trim()).toBe('ERR_MMAP_READONLY')
    expect([...readFileSync(p)]).toEqual([1, 2, 3, 4])
  })

  it("mode 'c' writes stay in this process", () => {
    const p = file(Uint8Array.from([1, 2, 3, 4]))
    using c = mmapFile(p, { mode: 'c' })
    c.bytes[0] = 100
    c.flush()
    expect(c.bytes[0]).toBe(100)
    using again = mmapFile(p)
    expect(again.bytes[0]).toBe(1)
    expect(readFileSync(p)[0]).toBe(1)
  })
})

describe('finalizer', () => {
  it.skipIf(WINDOWS)(posixTest('a mapping dropped without close() is unmapped after GC', NOT_ON_WINDOWS.proc), () => {
    const { held, after } = droppedMappings(file(1 << 16), 'm.mmapFile(path).bytes[0]', 50)
    expect(held).toBeGreaterThan(0)
    expect(after).toBe(0)
  })

  it('a view that outlives its dropped MmapFile keeps the memory alive', () => {
    const p = file(Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff))
    const r = runChild(
      `
      const view = (() => m.mmapFile(${JSON.stringify(p)}).bytes.subarray(1000, 1010))()
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)) }
      console.log([...view].join(','))
    `,
      { nodeArgs: ['--expose-gc'] },
    )
    expectCleanExit(r)
    expect(r.stdout.trim()).toBe(Array.from({ length: 10 }, (_, i) => (1000 + i) & 0xff).join(','))
  })
})

describe('large files', () => {
  it('maps a sparse file over 4 GiB and reads and writes its last element', () => {
    const p = join(dir, 'sparse5g.bin')
    const size = 5 * 2 ** 30 + 8
    writeFileSync(p, '')
    truncateSync(p, size)
    {
      using f = mmapFile(p, { mode: 'r+', offset: size - 8 * 4 })
      const tail = new Float64Array(f.bytes.buffer)
      tail[3] = 1.25
      f.flush()
    }
    const fd = openSync(p, 'r')
    const last = Buffer.alloc(8)
    readSync(fd, last, 0, 8, size - 8)
    closeSync(fd)
    expect(last.readDoubleLE(0)).toBe(1.25)
    // The whole file in one mapping: Node creates external ArrayBuffers through Buffer, so
    // past buffer.constants.MAX_LENGTH (4 GiB on Node 20) that is a clear error, not a crash.
    if (size > constants.MAX_LENGTH) {
      const e = thrown(() => mmapFile(p))
      expect(e).toMatchObject({ code: 'ERR_MMAP_INVALID_ARG', path: p })
      expect(e.message).toContain('offset and length')
      if (posixCheck(NOT_ON_WINDOWS.proc)) expect(mappingsOf(p)).toBe(0)
    } else {
      using whole = mmapFile(p)
      const all = new Float64Array(whole.bytes.buffer)
      expect(all[all.length - 1]).toBe(1.25)
    }
  })

  it('the binding survives Node refusing an oversized external buffer', () => {
    const p = join(dir, 'sparse5g.bin')
    const r = runChild(`
      const { Mapping: NativeMap } = await import(${JSON.stringify(importable(join(DIST, 'native.js')))})
      const n = NativeMap.open(${JSON.stringify(p)}, 'r', 0)
      let threw = false
      let buffer
      try { buffer = n.buffer() } catch { threw = true }
      n.close(buffer ? [buffer] : [])
      console.log(JSON.stringify({ threw, closed: n.closed }))
    `)
    expectCleanExit(r)
    expect(JSON.parse(r.stdout)).toEqual({ threw: constants.MAX_LENGTH < 5 * 2 ** 30, closed: true })
  })
})

describe('errors', () => {
  it('ENOENT with path and syscall, shaped like fs errors', () => {
    const p = join(dir, 'missing.bin')
    const e = thrown(() => mmapFile(p))
    expect(e).toBeInstanceOf(MmapError)
    expect(e).toBeInstanceOf(Error)
    expect(e).toMatchObject({ code: 'ENOENT', path: p, syscall: 'open' })
    expect(e.message).toBe(`ENOENT: no such file or directory, open '${p}'`)
  })

  it('EISDIR for a directory', () => {
    expect(thrown(() => mmapFile(dir))).toMatchObject({ code: 'EISDIR', path: dir })
    expect(thrown(() => mmapFile(dir, { mode: 'r+' }))).toMatchObject({ code: 'EISDIR', path: dir })
  })

  it.skipIf(WINDOWS)(posixTest('EACCES for a file the user may not open', NOT_ON_WINDOWS.modes), () => {
    const p = file(8)
    // Root ignores permission bits: drop to an unprivileged user in the child when root.
    const r = runChild(`
      fs.chmodSync(${JSON.stringify(p)}, 0o600)
      if (process.getuid?.() === 0) { fs.chmodSync(${JSON.stringify(dir)}, 0o755); process.setgid(65534); process.setuid(65534) }
      else fs.chmodSync(${JSON.stringify(p)}, 0)
      try { m.mmapFile(${JSON.stringify(p)}) } catch (e) { console.log(JSON.stringify({ code: e.code, path: e.path, syscall: e.syscall, mmap: e instanceof m.MmapError })) }
    `)
    expectCleanExit(r)
    expect(JSON.parse(r.stdout)).toEqual({ code: 'EACCES', path: p, syscall: 'open', mmap: true })
  })

  it('EEXIST: create never replaces a file unless asked, and then leaves old maps intact', () => {
    const p = file(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]))
    expect(thrown(() => Mapping.create(p, 16, false))).toMatchObject({ code: 'EEXIST', path: p })
    expect([...readFileSync(p)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const old = mmapFile(p)
    if (WINDOWS) {
      // Windows cannot rename over a mapped file: a clear error, and nothing changes.
      const e = thrown(() => Mapping.create(p, 16, true))
      expect(e).toMatchObject({ code: 'EBUSY', path: p, syscall: 'rename' })
      expect(e.message).toContain('still maps')
      expect([...readFileSync(p)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect([...old.bytes]).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      old.close()
      Mapping.create(p, 16, true).close()
      expect(statSync(p).size).toBe(16)
      return
    }
    const fresh = Mapping.create(p, 16, true)
    expect(statSync(p).size).toBe(16)
    expect([...old.bytes]).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    if (posixCheck(NOT_ON_WINDOWS.modes)) expect(statSync(p).mode & 0o777).toBe(0o600)
    fresh.close()
    old.close()
  })

  it('ERR_MMAP_SIZE_MISMATCH when offset + length passes the end: checked before mapping', () => {
    const p = file(100)
    for (const o of [{ offset: 101 }, { length: 101 }, { offset: 50, length: 51 }]) {
      const e = thrown(() => mmapFile(p, o))
      expect(e).toMatchObject({ code: 'ERR_MMAP_SIZE_MISMATCH', path: p })
      expect(e.message).toContain(p)
    }
  })

  it('ERR_MMAP_INVALID_ARG for bad modes, sizes, advice, paths and options', () => {
    const p = file(8)
    const bad: unknown[][] = [
      [p, { mode: 'w' }],
      [p, { mode: 1 }],
      [p, { offset: -1 }],
      [p, { offset: 1.5 }],
      [p, { offset: NaN }],
      [p, { offset: 2 ** 53 }],
      [p, { offset: '1' }],
      [p, { length: -8 }],
      [p, 'r'],
      ['', {}],
      [42, {}],
      [undefined, {}],
      [`${p}\0x`, {}],
    ]
    for (const args of bad) {
      const e = thrown(() => (mmapFile as (...a: unknown[]) => unknown)(...args))
      expect(e, JSON.stringify(args)).toBeInstanceOf(MmapError)
      expect(e.code, JSON.stringify(args)).toBe('ERR_MMAP_INVALID_ARG')
    }
    using f = mmapFile(p)
    expect(thrown(() => f.advise('often' as never)).code).toBe('ERR_MMAP_INVALID_ARG')
    if (posixCheck('no /dev/zero on Windows'))
      expect(thrown(() => mmapFile('/dev/zero')).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('ERR_MMAP_READONLY and ERR_MMAP_CLOSED from the API', async () => {
    const p = file(8)
    const f = mmapFile(p)
    expect(thrown(() => f.flush())).toMatchObject({ code: 'ERR_MMAP_READONLY', path: p })
    await expect(f.flushAsync()).rejects.toMatchObject({ code: 'ERR_MMAP_READONLY' })
    f.close()
    expect(thrown(() => f.flush())).toMatchObject({ code: 'ERR_MMAP_CLOSED', path: p })
    await expect(f.flushAsync()).rejects.toMatchObject({ code: 'ERR_MMAP_CLOSED' })
  })

  // 'late-finalizer': the runtime runs the buffer's finalizer after the failure was handled, as
  // one that defers finalizers (Bun) may; freeing the finalizer's hint on failure would then be
  // a double free (glibc aborts the child).
  for (const refusal of ['1', 'late-finalizer']) {
    it(`ERR_MMAP_EXTERNAL_BUFFERS where the runtime forbids external buffers, never a silent copy (${refusal})`, () => {
      const p = file(Uint8Array.from([1, 2, 3, 4]))
      const r = runChild(
        `
        const outs = new Set()
        for (let i = 0; i < 200; i++) {
          try { m.mmapFile(${JSON.stringify(p)}, { mode: 'r+' }); outs.add('mapped') } catch (e) { outs.add(JSON.stringify({ code: e.code, mmap: e instanceof m.MmapError })) }
        }
        const maps = process.platform === 'win32' ? 'no /proc' : fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith(' ' + ${JSON.stringify(p)})).length
        console.log(JSON.stringify({ outs: [...outs].map((o) => JSON.parse(o)), maps }))
      `,
        { env: { MEMMAP_TEST_NO_EXTERNAL_BUFFERS: refusal } },
      )
      expectCleanExit(r)
      const { outs, maps } = JSON.parse(r.stdout)
      expect(outs).toEqual([{ code: 'ERR_MMAP_EXTERNAL_BUFFERS', mmap: true }])
      if (posixCheck(NOT_ON_WINDOWS.proc)) expect(maps).toBe(0)
    })
  }

  it.skipIf(WINDOWS)(posixTest('FIFOs are refused without blocking', NOT_ON_WINDOWS.fifo), () => {
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    expect(existsSync(fifo)).toBe(true)
    expect(thrown(() => mmapFile(fifo)).code).toBe('ERR_MMAP_INVALID_ARG')
  })
})

describe('anonymous shared memory', () => {
  it('is zero-filled, writable and detached on close', () => {
    const a = Mapping.anonymous(4096)
    const v = new Int32Array(a.buffer)
    expect(v.every((x: number) => x === 0)).toBe(true)
    v[1023] = -5
    expect(new Int32Array(a.buffer)[1023]).toBe(-5)
    a.flush()
    a.close()
    expect(v.length).toBe(0)
  })
})
