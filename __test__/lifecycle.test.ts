// js/lifecycle.ts: what every object over one mapping shares (MappedResource: closed, flush,
// flushAsync, advise, close, dispose, and what util.inspect shows). MmapFile and every array
// share it, so these tests run it on each.
//
// Issue #11, item 13: what advise('dontneed') and chunks() do to writes into a read-only ('r')
// array's view. Decided: such writes are this process's scratch copies, never the file's; the
// kernel may discard them whenever pages are released (advise('dontneed'), each step of
// chunks()), and the view then shows the file again. Shared ('r+') and 'c' arrays keep theirs.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { inspect } from 'node:util'

import { describe, expect, it } from 'vitest'

import { createSharedBuffer, MmapArray, MmapFile, mmapFile, SharedMemoryArray } from '../dist/index.mjs'
import { tempDir, thrown } from './helpers'

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

// MADV_DONTNEED reverting private pages is Linux's documented behaviour (qemu-user passes it on:
// checked on arm64); macOS treats the advice as a hint, and Windows has no such advice
// (VirtualUnlock keeps the pages' contents).
const LINUX = process.platform === 'linux'

describe("writes into an 'r' array's view", () => {
  const named = (name: string): string => {
    const p = join(dir, name)
    writeFileSync(p, new Uint8Array(Float64Array.of(1, 2, 3, 4).buffer))
    return p
  }

  it.skipIf(!LINUX)("advise('dontneed') discards them: the view shows the file again (Linux)", () => {
    const p = named('r.bin')
    using arr = MmapArray.open(p, { mode: 'r' })
    arr.array[0] = 42
    expect(arr.get(0)).toBe(42) // this process's private copy
    arr.advise('dontneed')
    expect(arr.get(0)).toBe(1)
    expect([...new Float64Array(Uint8Array.from(readFileSync(p)).buffer)]).toEqual([1, 2, 3, 4])
  })

  it.skipIf(!LINUX)('each step of chunks() releases the pages behind it, discarding such writes (Linux)', () => {
    const p = named('chunks.bin')
    using arr = MmapArray.open(p, { mode: 'r' })
    const seen: number[] = []
    for (const { data } of arr.chunks(2)) {
      data[0] = -1
      seen.push(data[0] as number)
    }
    expect(seen).toEqual([-1, -1])
    expect([...arr.array]).toEqual([1, 2, 3, 4])
  })

  it("never reach the file, on every platform; 'c' and 'r+' arrays keep their writes through advise('dontneed')", () => {
    const p = named('kept.bin')
    {
      using r = MmapArray.open(p, { mode: 'r' })
      r.array[1] = 7
      r.advise('dontneed')
    }
    expect([...new Float64Array(Uint8Array.from(readFileSync(p)).buffer)]).toEqual([1, 2, 3, 4])
    {
      using c = MmapArray.open(p, { mode: 'c' })
      c.set(1, 8)
      c.advise('dontneed')
      expect(c.get(1)).toBe(8)
    }
    {
      using rw = MmapArray.open(p, { mode: 'r+' })
      rw.set(2, 9)
      rw.advise('dontneed')
      expect(rw.get(2)).toBe(9)
    }
    expect([...new Float64Array(Uint8Array.from(readFileSync(p)).buffer)]).toEqual([1, 2, 9, 4])
  })
})

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

describe('read-only members (issue #11, item 10)', () => {
  it('util.inspect (console.log) still shows the members, now getters rather than own properties', () => {
    using a = MmapArray.open(f64([1, 2, 3, 4]), { mode: 'r' })
    using f = mmapFile(file([1, 2]))
    expect(inspect(a)).toMatch(/^MmapArray \{[^]*shape: \[ 4 \],[^]*dtype: 'float64',[^]*mode: 'r',/)
    expect(inspect({ deeper: { f } })).toMatch(/MmapFile \{[^]*mode: 'r',[^]*length: 2,/)
  })
})
