// js/mapping.ts and the lazy buffers of js/mapped-array.ts: opening makes no ArrayBuffer over the
// mapping, the reductions never make one, the first element accesses copy single elements through
// the binding (`read`/`write`), and the view over the whole mapping is made on first need.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { MmapArray } from '../dist/index.mjs'
import { fileAs, fixture, tempDir, thrown } from './helpers'

const dir = tempDir()
const MIB = 2 ** 20

/** A sparse file of `bytes` zero bytes. */
function sparse(name: string, bytes: number): string {
  const p = join(dir, name)
  writeFileSync(p, '')
  truncateSync(p, bytes)
  return p
}

/** V8's external memory, which counts the bytes of every external ArrayBuffer. */
const external = (): number => process.memoryUsage().external

describe('buffers made on first need', () => {
  it('opening, the reductions and the first element accesses make no buffer; .array makes one', () => {
    const p = sparse('lazy.f64', 64 * MIB)
    const before = external()
    using a = MmapArray.open(p)
    expect(a.sum()).toBe(0)
    expect(a.max()).toBe(0)
    expect(a.get(a.size - 1)).toBe(0)
    a.set(3, 2.5)
    expect(a.get(3)).toBe(2.5)
    expect(external() - before).toBeLessThan(4 * MIB)
    expect(a.array[3]).toBe(2.5)
    expect(external() - before).toBeGreaterThanOrEqual(64 * MIB)
  })

  it('element accesses before, across and after the switch to the view agree with the file', () => {
    const n = 2 * MIB
    const p = join(dir, 'switch.i32')
    const values = Int32Array.from({ length: n }, (_, i) => (i * 7919) | 0)
    writeFileSync(p, new Uint8Array(values.buffer))
    using a = MmapArray.open(p, { dtype: 'int32' })
    // 200 accesses: the first 64 are native copies, the rest go through the view.
    for (let k = 0; k < 200; k++) {
      const i = (k * 104729) % n
      expect(a.get(i)).toBe(values[i])
      a.set(i, -i | 0)
      expect(a.get(i)).toBe(-i | 0)
    }
    a.flush()
    const onDisk = fileAs(Int32Array, p)
    for (let k = 0; k < 200; k++) {
      const i = (k * 104729) % n
      expect(onDisk[i]).toBe(-i | 0)
    }
  })

  it('64-bit integers, bool and negative indices through the native copies', () => {
    const p = sparse('big.i64', 2 * MIB)
    using a = MmapArray.open(p, { dtype: 'int64' })
    a.set(-1, -(2n ** 62n))
    expect(a.get(-1)).toBe(-(2n ** 62n))
    expect(a.get(a.size - 1)).toBe(-(2n ** 62n))
    a.set(0, 5)
    expect(a.get(0)).toBe(5n)
    using b = MmapArray.open(sparse('flags.bool', 2 * MIB), { dtype: 'bool' })
    b.set(10, true)
    b.set(11, 7)
    expect([b.get(10), b.get(11), b.get(12)]).toEqual([1, 1, 0])
  })

  it("copy-on-write ('c') writes stay in the process, read-only ('r') writes are refused", () => {
    const p = sparse('modes.f64', 2 * MIB)
    using c = MmapArray.open(p, { mode: 'c' })
    c.set(1, 9)
    expect(c.get(1)).toBe(9)
    expect(c.array[1]).toBe(9)
    expect(fileAs(Float64Array, p)[1]).toBe(0)
    using r = MmapArray.open(p, { mode: 'r' })
    expect(thrown(() => r.set(1, 9)).code).toBe('ERR_MMAP_READONLY')
    expect(r.get(1)).toBe(0)
  })

  it('a closed array refuses access whether or not a view was made', () => {
    const p = sparse('closed.f64', 2 * MIB)
    const a = MmapArray.open(p)
    a.close()
    expect(thrown(() => a.get(0)).code).toBe('ERR_MMAP_CLOSED')
    expect(thrown(() => a.set(0, 1)).code).toBe('ERR_MMAP_CLOSED')
    const b = MmapArray.open(p)
    const view = b.array
    b.get(0)
    b.close()
    expect(view.length).toBe(0)
    expect(thrown(() => b.get(0)).code).toBe('ERR_MMAP_CLOSED')
  })

  it('where the runtime refuses external buffers, an array opens, reduces and reads elements; .array is ERR_MMAP_EXTERNAL_BUFFERS', () => {
    const p = sparse('refused.f64', 2 * MIB)
    const out = fixture('mapping', 'refused', [p], { env: { MEMMAP_TEST_NO_EXTERNAL_BUFFERS: '1' } })
    expect(out).toEqual({ sum: 4, get: 4, array: 'ERR_MMAP_EXTERNAL_BUFFERS' })
    expect(readFileSync(p).readDoubleLE(16)).toBe(4)
  })
})
describe('the binding as the TypeScript layer never calls it', () => {
  it('element copies outside the mapping, to a read-only or closed mapping, or with a bad offset are ERR_MMAP_INTERNAL, not a crash', () => {
    const p = join(dir, 'direct.bin')
    writeFileSync(p, new Uint8Array(64))
    const I = 'ERR_MMAP_INTERNAL'
    expect(fixture('mapping', 'direct', [p])).toEqual({
      inside: 'ok',
      pastTheEnd: I,
      farPastTheEnd: I,
      negative: I,
      fraction: I,
      nan: I,
      writePastTheEnd: I,
      writeReadOnly: I,
      readClosed: I,
      writeClosed: I,
      notBytes: I,
    })
    expect([...readFileSync(p)]).toEqual(Array.from({ length: 64 }, () => 0))
  })
})
