// Durability under SIGKILL, concurrent writers, and resource leaks over many cycles: properties
// of the whole package (mappings, flush, shared memory, the cache), not of one module. The child
// processes are fixtures/reliability.mjs.
// Long variants (100 kills, 100,000 cycles): MEMMAP_LONG=1 npm run test:js.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { SharedMemoryArray } from '../dist/index.mjs'
import {
  droppedMappings,
  fixture,
  fixtureCommand,
  nativeCheck,
  NOT_ON_WINDOWS,
  posixTest,
  tempDir,
  WINDOWS,
} from './helpers'

const LONG = process.env.MEMMAP_LONG === '1'
const dir = tempDir()

describe('durability', () => {
  it(`a child that flushed and is then SIGKILLed loses nothing (${LONG ? 100 : 10} rounds)`, async () => {
    const p = join(dir, 'durable.f64')
    writeFileSync(p, new Uint8Array(8 * 4096))
    for (let round = 1; round <= (LONG ? 100 : 10); round++) {
      const child = spawn(process.execPath, fixtureCommand('reliability', 'flushThenWait', [p, String(round)]), {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      await new Promise<void>((done) => child.stdout.once('data', () => done()))
      child.kill('SIGKILL')
      await new Promise((done) => child.on('exit', done))
      const v = new Float64Array(Uint8Array.from(readFileSync(p)).buffer)
      let bad = 0
      for (let i = 0; i < v.length; i++) if (v[i] !== round * 1e6 + i) bad++
      expect(bad, `round ${round}`).toBe(0)
    }
  })

  it('two processes writing disjoint halves of one region at full speed lose no write', async () => {
    using shm = SharedMemoryArray.create({ shape: [2, 1 << 16], dtype: 'uint32' })
    const rounds = LONG ? 2000 : 200
    const writer = (row: number) =>
      new Promise<number | null>((done) => {
        const c = spawn(
          process.execPath,
          fixtureCommand('reliability', 'writeRow', [shm.path, String(row), String(rounds)]),
        )
        c.on('exit', done)
      })
    expect(await Promise.all([writer(0), writer(1)])).toEqual([0, 0])
    const a = shm.array
    let bad = 0
    for (let i = 0; i < a.length; i++) if (a[i] !== rounds * 2 + (i < 1 << 16 ? 0 : 1)) bad++
    expect(bad).toBe(0)
    shm.unlink()
  })
})

describe('leaks', () => {
  const cycles = `${LONG ? '100,000' : '10,000'} open/close cycles and cache evictions return fds and maps to baseline`
  it.skipIf(WINDOWS)(posixTest(cycles, NOT_ON_WINDOWS.proc), () => {
    const p = join(dir, 'leak.bin')
    writeFileSync(p, new Uint8Array(64 * 1024))
    const { before, after } = fixture('reliability', 'openCloseCycles', [p, String(LONG ? 100_000 : 10_000)], {
      nodeArgs: ['--expose-gc'],
    })
    expect(after.fds).toBe(before.fds)
    expect(after.maps).toBe(0)
    expect(before.maps).toBe(0)
    if (nativeCheck('resident memory of 20,000 mmap/munmap pairs measures qemu-user itself')) {
      expect(after.rss - before.rss).toBeLessThan(10 * 2 ** 20)
    }
  })

  it.skipIf(WINDOWS)(posixTest('arrays dropped without close() are unmapped after GC', NOT_ON_WINDOWS.proc), () => {
    const p = join(dir, 'dropped.bin')
    writeFileSync(p, new Uint8Array(8192))
    const { held, after } = droppedMappings(p, 'MmapArray.open', 1000)
    expect(held).toBeGreaterThan(0)
    expect(after).toBe(0)
  })
})
