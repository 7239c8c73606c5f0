// Durability under SIGKILL, concurrent writers, and resource leaks over many cycles.
// Long variants (100 kills, 100,000 cycles): MEMMAP_LONG=1 npm run test:js.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { describe, expect, it } from 'vitest'

import { SharedMemoryArray } from '../dist/index.mjs'
import {
  droppedMappings,
  expectCleanExit,
  importable,
  nativeCheck,
  NOT_ON_WINDOWS,
  posixTest,
  runChild,
  tempDir,
  WINDOWS,
} from './helpers'

const LONG = process.env.MEMMAP_LONG === '1'
const ENTRY = JSON.stringify(importable(resolve(__dirname, '../dist/index.mjs')))
const dir = tempDir()

describe('durability', () => {
  it(`a child that flushed and is then SIGKILLed loses nothing (${LONG ? 100 : 10} rounds)`, async () => {
    const p = join(dir, 'durable.f64')
    writeFileSync(p, new Uint8Array(8 * 4096))
    for (let round = 1; round <= (LONG ? 100 : 10); round++) {
      const child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import * as m from ${ENTRY}
          const a = m.MmapArray.open(${JSON.stringify(p)}, { mode: 'r+' })
          for (let i = 0; i < a.size; i++) a.set(i, ${round} * 1e6 + i)
          a.flush()
          console.log('flushed')
          setInterval(() => {}, 1000)`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
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
        const c = spawn(process.execPath, [
          '--input-type=module',
          '-e',
          `import * as m from ${ENTRY}
          const a = m.SharedMemoryArray.open(${JSON.stringify(shm.path)}, { shape: [2, 1 << 16], dtype: 'uint32' })
          const mine = a.slice(${row}, ${row + 1})
          for (let r = 1; r <= ${rounds}; r++) for (let i = 0; i < mine.length; i++) mine[i] = r * 2 + ${row}
          a.close()`,
        ])
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
    const r = runChild(
      `
      const fds = () => fs.readdirSync('/proc/self/fd').length
      // Our mappings: those of the file (V8 maps and unmaps heap pages of its own as it sizes the heap).
      const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith(' ' + ${JSON.stringify(p)})).length
      // Anonymous resident memory outside V8's heap: native allocations and their mappings. V8
      // may reserve more heap under a high allocation rate (heapTotal) and keep it: not a leak.
      const rss = () => {
        const anon = Number(fs.readFileSync('/proc/self/status', 'utf8').match(/RssAnon:\\s+(\\d+)/)[1]) * 1024
        return anon - process.memoryUsage().heapTotal
      }
      const N = ${LONG ? 100_000 : 10_000}
      const cycle = (n) => {
        for (let i = 0; i < n; i++) { const a = m.MmapArray.open(${JSON.stringify(p)}, { dtype: 'uint8', mode: 'r' }); a.get(i % 1000); a.close() }
        const cache = new m.MmapCache({ maxSize: 2 })
        for (let i = 0; i < n; i++) cache.getOrCreate(${JSON.stringify(p)}, { dtype: 'uint8', offset: i % 3 })
        cache.clear()
      }
      const settle = async () => { globalThis.gc(); await new Promise((r) => setImmediate(r)); globalThis.gc() }
      cycle(N) // warm up at the same size: the allocator and V8 reach their steady state
      await settle()
      const before = { fds: fds(), maps: maps(), rss: rss() }
      cycle(N)
      await settle()
      const after = { fds: fds(), maps: maps(), rss: rss() }
      console.log(JSON.stringify({ before, after }))
    `,
      { nodeArgs: ['--expose-gc'] },
    )
    expectCleanExit(r)
    const { before, after } = JSON.parse(r.stdout)
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
    const { held, after } = droppedMappings(p, "m.MmapArray.open(path, { mode: 'r' }).get(0)", 1000)
    expect(held).toBeGreaterThan(0)
    expect(after).toBe(0)
  })
})
