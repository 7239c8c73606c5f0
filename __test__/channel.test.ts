// js/channel.ts: a message ring between processes. The other process is
// __test__/fixtures/channel-peer.mjs; a crash or a hang there fails the test, not the runner.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { Channel } from '../dist/index.mjs'
import { thrown, WINDOWS, WINE } from './helpers'

const PEER = join(__dirname, 'fixtures', 'channel-peer.mjs')

/** Starts the peer; resolves each JSON line it prints, in order. */
function started(...args: string[]): {
  child: ChildProcess
  line: () => Promise<Record<string, unknown>>
  exit: Promise<number | null>
} {
  const child = spawn(process.execPath, [PEER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    line: async () => {
      const next = await lines.next()
      if (next.done) throw new Error('the peer exited without saying more')
      return JSON.parse(next.value as string) as Record<string, unknown>
    },
    exit,
  }
}

describe('Channel between two processes', () => {
  // 1,000,000 messages (32 GB through the ring, about 20 s here); under Wine, whose named
  // semaphores are far slower than a futex, 100,000.
  it(`${WINE ? '100,000' : '1,000,000'} messages of 0 to 64 KiB: none lost, duplicated, reordered or damaged, with wraparound`, async () => {
    using ch = Channel.create({ capacity: 256 * 1024 })
    const n = WINE ? 100_000 : 1_000_000
    const reader = started('reader', ch.path, String(n), '12345')
    const writer = started('writer', ch.path, String(n), '12345')
    const sent = await writer.line()
    const got = await reader.line()
    expect(sent.sent).toBe(n)
    expect(got).toEqual({ got: n, bytes: sent.bytes, bad: 0, wrapped: expect.any(Number) })
    expect(got.wrapped as number).toBeGreaterThan(0)
    expect(await writer.exit).toBe(0)
    expect(await reader.exit).toBe(0)
    ch.unlink()
  }, 600_000)

  it('recv() blocked in another process wakes on send, and on end()', async () => {
    using ch = Channel.create({ capacity: 1024 })
    for (const mode of ['recv', 'recv-async']) {
      const p = started(mode, ch.path)
      expect(await p.line()).toEqual({ ready: true })
      await new Promise((r) => setTimeout(r, 100))
      ch.send('héllo')
      expect(await p.line()).toEqual({ result: 'héllo' })
      expect(await p.exit).toBe(0)
    }
    const p = started('recv', ch.path)
    expect(await p.line()).toEqual({ ready: true })
    await new Promise((r) => setTimeout(r, 100))
    ch.end()
    expect(await p.line()).toEqual({ result: 'end' })
    ch.unlink()
  })

  it('a reader whose writer is killed (SIGKILL) while it waits gets ERR_MMAP_PEER_GONE within a second', async () => {
    using ch = Channel.create({ capacity: 1024 })
    const writer = started('claim-writer', ch.path)
    expect(await writer.line()).toEqual({ ready: true })
    expect(Buffer.from(ch.recv()!).toString()).toBe('hello')
    const reader = ch // this process reads; the writer dies while it waits
    const t0 = performance.now()
    setTimeout(() => writer.child.kill('SIGKILL'), 200)
    const err = await reader.recvAsync().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((err as { code?: string })?.code).toBe('ERR_MMAP_PEER_GONE')
    expect(performance.now() - t0).toBeLessThan(200 + 1500)
    ch.unlink()
  })

  it('a writer blocked on a full ring whose reader is killed gets ERR_MMAP_PEER_GONE within a second', async () => {
    using ch = Channel.create({ capacity: 64 })
    const reader = started('claim-reader', ch.path)
    const writer = started('fill', ch.path)
    expect(await reader.line()).toEqual({ ready: true })
    expect((await writer.line()).full).toBeGreaterThan(0)
    const t0 = performance.now()
    reader.child.kill('SIGKILL')
    expect(await writer.line()).toEqual({ error: 'ERR_MMAP_PEER_GONE' })
    expect(performance.now() - t0).toBeLessThan(1500)
    expect(await writer.exit).toBe(0)
    ch.unlink()
  })

  it('a reader blocked in recv() in a child sees its writer killed by SIGKILL: ERR_MMAP_PEER_GONE', async () => {
    using ch = Channel.create({ capacity: 64 })
    const writer = started('claim-writer', ch.path)
    expect(await writer.line()).toEqual({ ready: true })
    const reader = started('recv2', ch.path)
    expect(await reader.line()).toEqual({ result: 'hello' })
    await new Promise((r) => setTimeout(r, 100))
    writer.child.kill('SIGKILL')
    expect(await reader.line()).toEqual({ error: 'ERR_MMAP_PEER_GONE' })
    expect(await reader.exit).toBe(0)
    ch.unlink()
  })

  it('timeouts on both sides: recv on an empty ring gives undefined, send on a full ring gives false', async () => {
    using ch = Channel.create({ capacity: 16 })
    expect(ch.recv({ timeoutMs: 0 })).toBeUndefined()
    expect(ch.recv({ timeoutMs: 30 })).toBeUndefined()
    expect(await ch.recvAsync({ timeoutMs: 30 })).toBeUndefined()
    expect(ch.send('12345678901', { timeoutMs: 0 })).toBe(true)
    expect(ch.send('x', { timeoutMs: 0 })).toBe(false)
    expect(ch.send('x', { timeoutMs: 30 })).toBe(false)
    expect(await ch.sendAsync('x', { timeoutMs: 30 })).toBe(false)
    expect(Buffer.from(ch.recv()!).toString()).toBe('12345678901')
    ch.unlink()
  })
})

describe('Channel in one process', () => {
  it('keeps order, sends strings as UTF-8 and bytes as they are, and recv hands out a view into the ring', () => {
    using ch = Channel.create({ capacity: 4096 })
    expect(ch.capacity).toBe(4096)
    ch.send('ünï')
    ch.send(Float64Array.of(1.5, -2))
    ch.send(new ArrayBuffer(3))
    ch.send(new Uint8Array(0))
    const a = ch.recv()!
    expect(Buffer.from(a).toString()).toBe('ünï')
    expect(a.buffer.byteLength).toBeGreaterThanOrEqual(4096) // the mapping, not a copy
    expect([...new Float64Array(ch.recv()!.slice().buffer)]).toEqual([1.5, -2])
    expect([...ch.recv()!]).toEqual([0, 0, 0])
    expect(ch.recv()!.length).toBe(0)
    expect(ch.recv({ timeoutMs: 0 })).toBeUndefined()
    ch.unlink()
  })

  it('close() counts the message recv handed out as read; the next reader gets the one after it', () => {
    const ch = Channel.create({ capacity: 256 })
    ch.send('one')
    ch.send('two')
    expect(Buffer.from(ch.recv()!).toString()).toBe('one')
    const path = ch.path
    using again = Channel.open(path)
    ch.close()
    expect(Buffer.from(again.recv()!).toString()).toBe('two')
    again.unlink()
  })

  it('async iteration ends at end()', async () => {
    using ch = Channel.create({ capacity: 256 })
    const out: string[] = []
    const done = (async () => {
      for await (const m of ch) out.push(Buffer.from(m).toString())
    })()
    for (let i = 0; i < 50; i++) await ch.sendAsync(`m${i}`)
    ch.end()
    await done
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`))
    ch.unlink()
  })

  it('a message larger than the ring is ERR_MMAP_INVALID_ARG; bad arguments too; after close ERR_MMAP_CLOSED', () => {
    using ch = Channel.create({ capacity: 64 })
    expect(ch.send(new Uint8Array(60))).toBe(true)
    expect(thrown(() => ch.send(new Uint8Array(61))).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(thrown(() => ch.send(42 as never)).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(thrown(() => ch.recv({ timeoutMs: -1 })).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(thrown(() => Channel.create({ capacity: 4 })).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(thrown(() => Channel.create({ capacity: 2 ** 31 })).code).toBe('ERR_MMAP_INVALID_ARG')
    const view = ch.recv()!
    ch.close()
    expect(view.length).toBe(0)
    expect(thrown(() => ch.recv()).code).toBe('ERR_MMAP_CLOSED')
    expect(thrown(() => ch.send('x')).code).toBe('ERR_MMAP_CLOSED')
    ch.unlink()
  })

  it('a corrupted ring is ERR_MMAP_FORMAT, never a crash or a hang', async () => {
    const { SharedMemoryArray } = await import('../dist/index.mjs')
    using junk = SharedMemoryArray.create({ shape: [1024], dtype: 'int32' })
    expect(thrown(() => Channel.open(junk.path)).code).toBe('ERR_MMAP_FORMAT')
    const ch = Channel.create({ capacity: 256 })
    using raw = SharedMemoryArray.open(ch.path, { dtype: 'int32' })
    ch.send('abc')
    raw.set(64 + 0, 1_000_000) // the record's length
    expect(thrown(() => ch.recv()).code).toBe('ERR_MMAP_FORMAT')
    raw.set(16, 7) // the head, not a multiple of 4
    expect(thrown(() => ch.recv()).code).toBe('ERR_MMAP_FORMAT')
    raw.set(16, 4096) // past twice the ring
    expect(thrown(() => ch.send('x')).code).toBe('ERR_MMAP_FORMAT')
    raw.set(0, 0) // the magic
    expect(thrown(() => Channel.open(ch.path)).code).toBe('ERR_MMAP_FORMAT')
    ch.unlink()
  })

  it.skipIf(WINDOWS)('one writer at a time: a second live writer process is refused', async () => {
    using ch = Channel.create({ capacity: 256 })
    const writer = started('claim-writer', ch.path)
    expect(await writer.line()).toEqual({ ready: true })
    expect(thrown(() => ch.send('x')).code).toBe('ERR_MMAP_INVALID_ARG')
    writer.child.kill('SIGKILL')
    await writer.exit
    expect(ch.send('x')).toBe(true) // the dead writer's place is free
    ch.unlink()
  })
})
