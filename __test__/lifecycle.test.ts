// js/lifecycle.ts: what every object over one mapping shares (MappedResource: closed, flush,
// flushAsync, advise, close, dispose).
//
// Issue #11, item 13: what advise('dontneed') and chunks() do to writes into a read-only ('r')
// array's view. Decided: such writes are this process's scratch copies, never the file's; the
// kernel may discard them whenever pages are released (advise('dontneed'), each step of
// chunks()), and the view then shows the file again. Shared ('r+') and 'c' arrays keep theirs.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapArray } from '../dist/index.mjs'
import { tempDir } from './helpers'

// MADV_DONTNEED reverting private pages is Linux's documented behaviour (qemu-user passes it on:
// checked on arm64); macOS treats the advice as a hint, and Windows has no such advice
// (VirtualUnlock keeps the pages' contents).
const LINUX = process.platform === 'linux'

describe("writes into an 'r' array's view", () => {
  const dir = tempDir()
  const file = (name: string): string => {
    const p = join(dir, name)
    writeFileSync(p, new Uint8Array(Float64Array.of(1, 2, 3, 4).buffer))
    return p
  }

  it.skipIf(!LINUX)("advise('dontneed') discards them: the view shows the file again (Linux)", () => {
    const p = file('r.bin')
    using arr = MmapArray.open(p, { mode: 'r' })
    arr.array[0] = 42
    expect(arr.get(0)).toBe(42) // this process's private copy
    arr.advise('dontneed')
    expect(arr.get(0)).toBe(1)
    expect([...new Float64Array(Uint8Array.from(readFileSync(p)).buffer)]).toEqual([1, 2, 3, 4])
  })

  it.skipIf(!LINUX)('each step of chunks() releases the pages behind it, discarding such writes (Linux)', () => {
    const p = file('chunks.bin')
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
    const p = file('kept.bin')
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
