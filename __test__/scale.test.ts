// Streaming with chunks(), and arrays past what one typed array can hold: the package at scale
// (array.ts's chunks and windows over mapping.ts), named for what it covers, not for one module.
import { constants } from 'node:buffer'
import { truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapArray, MmapError } from '../dist/index.mjs'
import { fixture, tempDir, thrown } from './helpers'

const dir = tempDir()
const LONG = process.env.MEMMAP_LONG === '1'
function sparse(name: string, bytes: number): string {
  const p = join(dir, name)
  writeFileSync(p, '')
  truncateSync(p, bytes)
  return p
}

describe('chunks()', () => {
  it('walks every row in order with zero-copy views', () => {
    using a = MmapArray.create(join(dir, 'c.bin'), { shape: [10, 3], dtype: 'int32' })
    for (let i = 0; i < 30; i++) a.array[i] = i
    const seen: number[] = []
    for (const { start, end, data } of a.chunks(4)) {
      expect(data.length).toBe((end - start) * 3)
      seen.push(start, end)
      data[0] = -data[0] - 1 // writes land in the mapping
    }
    expect(seen).toEqual([0, 4, 4, 8, 8, 10])
    expect([a.get(0, 0), a.get(4, 0), a.get(8, 0), a.get(9, 0)]).toEqual([-1, -13, -25, 27])
  })

  it('defaults to about 16 MiB per chunk; rows must be a positive integer', () => {
    using a = MmapArray.create(join(dir, 'd.bin'), { shape: [5 * 2 ** 20] }) // 40 MiB
    const sizes = [...a.chunks()].map((c) => c.end - c.start)
    expect(sizes).toEqual([2 ** 21, 2 ** 21, 2 ** 20])
    for (const bad of [0, -1, 1.5, '2'])
      expect(thrown(() => a.chunks(bad as never).next()).code).toBe('ERR_MMAP_INVALID_ARG')
  })

  it('an array closed inside the loop ends it with ERR_MMAP_CLOSED, never a crash', () => {
    const a = MmapArray.create(join(dir, 'e.bin'), { shape: [100] })
    const it = a.chunks(10)
    const first = it.next().value!
    a.close()
    expect(first.data.length).toBe(0)
    expect(thrown(() => it.next())).toMatchObject({ code: 'ERR_MMAP_CLOSED' })
  })

  it('a pass over a file keeps resident memory bounded (pages behind are released)', () => {
    const gib = LONG ? 16 : 1
    const p = sparse('stream.bin', gib * 2 ** 30)
    const out = fixture('scale', 'streamingPass', [p])
    expect(out.s).toBe(0)
    expect(out.n).toBe(gib * 64)
    expect(out.maxRssMiB).toBeLessThan(400) // not the file's size: one chunk or so at a time
  })
})

/**
 * Node 20 caps an ArrayBuffer at 4 GiB (buffer.constants.MAX_LENGTH) and a typed array at 2^32
 * elements, so larger arrays are reached through windows. Node 22+ (V8 12+) lifts both caps
 * (MAX_LENGTH is 2^53 - 1; measured on 22, 24 and 26): one view holds any file, and the window
 * path is never taken there.
 */
const WINDOWED = constants.MAX_LENGTH <= 2 ** 32
const windowed = (name: string): string => {
  if (WINDOWED) return name
  const why = `Node ${process.versions.node} holds it in one typed array: no windows to test`
  console.log(`skipped: ${name}: ${why}`)
  return `${name} [skipped: ${why}]`
}

describe('arrays past one typed array', () => {
  // 2^32 + 8 float32 elements (16 GiB, sparse): past Node 20's 2^32-element typed-array cap and
  // 4 GiB ArrayBuffer cap.
  const N = 2 ** 32 + 8
  const p = sparse('huge.f32', N * 4)

  it.runIf(!WINDOWED)('Node 22+: one typed array over all 2^32 + 8 elements; slices and chunks of any size', () => {
    using a = MmapArray.open(p, { dtype: 'float32' })
    expect(a.array).toBeInstanceOf(Float32Array)
    expect(a.array.length).toBe(N)
    a.set(-1, 0.5)
    expect(a.array[N - 1]).toBe(0.5)
    expect(a.slice(0, 2 ** 31).length).toBe(2 ** 31)
    const sizes = [...a.chunks(2 ** 31)].map((c) => c.data.length)
    expect(sizes).toEqual([2 ** 31, 2 ** 31, 8])
  })

  it.skipIf(!WINDOWED)(
    windowed('opens; .array names the alternatives; get/set reach every element, across windows'),
    () => {
      using a = MmapArray.open(p, { dtype: 'float32' })
      expect(a.shape).toEqual([N])
      const e = thrown(() => a.array)
      expect(e).toBeInstanceOf(MmapError)
      expect(e).toMatchObject({ code: 'ERR_MMAP_INVALID_ARG', path: p })
      expect(e.message).toContain('chunks()')
      const step = 2 ** 29 / 4 // elements per half window
      for (const i of [0, step - 1, step, step + 1, 2 * step, N - 2 ** 31, N - 2, -1]) {
        a.set(i, i === -1 ? 0.5 : 3)
        expect(a.get(i), String(i)).toBe(i === -1 ? 0.5 : 3)
      }
      expect(a.get(N - 1)).toBe(0.5)
    },
  )

  it.skipIf(!WINDOWED)(
    windowed('slices up to half a window, anywhere, zero-copy; larger views are a clear error'),
    () => {
      using a = MmapArray.open(p, { dtype: 'float32' })
      const step = 2 ** 29 / 4
      const s = a.slice(step - 2, step + 2) // straddles a window boundary
      expect(s.length).toBe(4)
      s[1] = 7
      expect(a.get(step - 1)).toBe(7)
      expect(a.slice(-3).length).toBe(3)
      expect(a.slice(5, 5 + step).length).toBe(step)
      expect(thrown(() => a.slice(0, step + 1)).code).toBe('ERR_MMAP_INVALID_ARG')
    },
  )

  it.skipIf(!WINDOWED)(windowed('chunks() walks it in views of at most half a window'), () => {
    using a = MmapArray.open(p, { dtype: 'float32', mode: 'r' })
    let n = 0
    let last = 0
    for (const { start, end, data } of a.chunks(2 ** 30)) {
      expect(start).toBe(last)
      expect(data.length).toBeLessThanOrEqual(2 ** 29 / 4)
      last = end
      n++
    }
    expect(last).toBe(N)
    expect(n).toBe(Math.ceil(N / (2 ** 29 / 4)))
  })

  it('close() detaches every window view', () => {
    const a = MmapArray.open(p, { dtype: 'float32' })
    const v1 = a.slice(0, 10)
    const v2 = a.slice(N - 10)
    a.close()
    expect([v1.length, v2.length]).toEqual([0, 0])
    expect(thrown(() => a.get(0)).code).toBe('ERR_MMAP_CLOSED')
  })

  it.runIf(LONG)('reduces 16 GiB natively (MEMMAP_LONG=1)', () => {
    using a = MmapArray.open(sparse('reduce.f32', N * 4), { dtype: 'float32' })
    a.set(0, 1.5)
    a.set(2 ** 31, -4)
    a.set(N - 1, 10)
    expect(a.sum()).toBe(7.5)
    expect(a.min()).toBe(-4)
    expect(a.max()).toBe(10)
    expect(a.mean()).toBeCloseTo(7.5 / N, 20)
  })

  it.skipIf(!WINDOWED)(
    windowed('a file past one ArrayBuffer still opens for arrays, and mmapFile explains the window'),
    () => {
      const big = sparse('big.u8', constants.MAX_LENGTH + 4096)
      using a = MmapArray.open(big, { dtype: 'uint8' })
      a.set(-1, 9)
      expect(a.get(a.size - 1)).toBe(9)
    },
  )
})
