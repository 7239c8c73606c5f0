// js/mmap-file.ts (mmapFile, MmapFile) and the native mapping under it, as JavaScript sees it: one
// zero-copy, detachable buffer per mapping. A few tests reach one layer down, to js/mapping.ts's
// Mapping (create, anonymous memory) and the binding (a buffer Node refuses): the same mapping
// without the MmapFile around it.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { constants } from 'node:buffer'
import { execFileSync } from 'node:child_process'

import { describe, expect, it } from 'vitest'

import { MmapError, MmapFile, mmapFile } from '../dist/index.mjs'
import { Mapping } from '../dist/mapping.js'
import {
  droppedMappings,
  fixture,
  mappingsOf,
  NOT_ON_WINDOWS,
  posixCheck,
  posixTest,
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
    const { grew } = fixture('mmap-file', 'openGiB', [p])
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
    expect(fixture('mmap-file', 'closeDetaches', [p])).toEqual({
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
    expect(fixture('mmap-file', 'detachedFill', [p])).toBe('TypeError')
  })

  it('a close() while flushAsync() is in flight settles both without a crash', () => {
    const p = file(1 << 20)
    expect(fixture('mmap-file', 'closeWhileFlushAsync', [p])).toBe(1)
  })
})

describe("mode 'r'", () => {
  it('a write into the bytes neither crashes the process nor reaches the file', () => {
    const p = file(Uint8Array.from([1, 2, 3, 4]))
    expect(fixture('mmap-file', 'readOnlyWrites', [p])).toBe('ERR_MMAP_READONLY')
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
    const { held, after } = droppedMappings(file(1 << 16), 'mmapFile', 50)
    expect(held).toBeGreaterThan(0)
    expect(after).toBe(0)
  })

  it('a view that outlives its dropped MmapFile keeps the memory alive', () => {
    const p = file(Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff))
    expect(fixture('mmap-file', 'viewOutlivesFile', [p], { nodeArgs: ['--expose-gc'] })).toBe(
      Array.from({ length: 10 }, (_, i) => (1000 + i) & 0xff).join(','),
    )
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
    expect(fixture('mmap-file', 'oversizedBuffer', [p])).toEqual({
      threw: constants.MAX_LENGTH < 5 * 2 ** 30,
      closed: true,
    })
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
    expect(fixture('mmap-file', 'unreadable', [p, dir])).toEqual({
      code: 'EACCES',
      path: p,
      syscall: 'open',
      mmap: true,
    })
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
      const { outs, maps } = fixture('mmap-file', 'externalBuffersRefused', [p], {
        env: { MEMMAP_TEST_NO_EXTERNAL_BUFFERS: refusal },
      })
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

describe('constructors (issue #11, item 9)', () => {
  it('new MmapFile(path, options) is the same as mmapFile(path, options)', () => {
    const p = file(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]))
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
    const p = file(Uint8Array.from([1, 2, 3, 4]))
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
})

describe('read-only members (issue #11, item 10)', () => {
  it('MmapFile: assigning bytes, length, mode or path changes nothing', () => {
    const p = file(Uint8Array.from([1, 2, 3, 4]))
    expect(fixture('mmap-file', 'assignedMembers', [p])).toEqual({
      strict: { bytes: 'TypeError', length: 'TypeError', mode: 'TypeError', path: 'TypeError' },
      looks: { sameBytes: true, bytes: [1, 2, 3, 4], length: 4, mode: 'r', path: true, readonly: true },
      flush: ['ERR_MMAP_READONLY', true],
      flushAsync: 'ERR_MMAP_READONLY',
      closed: true,
      bytesAfterClose: 0,
    })
  })
})
