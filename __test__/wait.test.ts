import { fork, spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { createSharedBuffer, MmapArray, MmapError, SharedMemoryArray } from '../dist/index.mjs'
import { NOT_ON_WINDOWS, posixTest, tempDir, thrown, WINDOWS, WINE, wineTest } from './helpers'

const FIXTURES = resolve(__dirname, 'fixtures')
const dir = tempDir()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const LEN = 8

type Arr = ReturnType<typeof SharedMemoryArray.create<'int32'>>

/** A peer process mapping the same array (fixtures/wait-peer.mjs), driven by messages. */
class Peer {
  readonly child: ChildProcess
  readonly #inbox: any[] = []
  readonly #waiting: ((m: any) => void)[] = []

  constructor(kind: 'shm' | 'file', path: string) {
    this.child = fork(join(FIXTURES, 'wait-peer.mjs'), [kind, path, String(LEN)], { stdio: 'pipe' })
    this.child.on('message', (m) => {
      const w = this.#waiting.shift()
      if (w) w(m)
      else this.#inbox.push(m)
    })
    // A watchdog: no peer outlives a hung test.
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000)
    this.child.on('exit', () => clearTimeout(timer))
  }

  next(): Promise<any> {
    const m = this.#inbox.shift()
    if (m !== undefined) return Promise.resolve(m)
    return new Promise((r) => this.#waiting.push(r))
  }

  async ask(msg: object): Promise<any> {
    this.child.send(msg)
    return this.next()
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((r) => this.child.on('exit', r))
    this.child.send({ op: 'exit' })
    await exited
  }
}

/** Notifies element `index` until a waiter is woken (it may not be asleep yet): the count. */
async function notifyUntilWoken(notify: () => number, deadlineMs = 20_000): Promise<number> {
  const end = Date.now() + deadlineMs
  while (Date.now() < end) {
    const woken = notify()
    if (woken > 0) return woken
    await sleep(5)
  }
  return 0
}

const peers: Peer[] = []
afterAll(async () => {
  for (const p of peers) p.child.kill('SIGKILL')
})

function peer(kind: 'shm' | 'file', path: string): Peer {
  const p = new Peer(kind, path)
  peers.push(p)
  return p
}

const KINDS = [
  ['SharedMemoryArray', 'shm'],
  ['file MmapArray', 'file'],
] as const

/** A region, or a file created, closed and opened again 'r+' (see the created-file test below). */
function make(kind: 'shm' | 'file', tag: string): Arr {
  if (kind === 'shm') return SharedMemoryArray.create({ shape: [LEN], dtype: 'int32' })
  const path = join(dir, `wait-${tag}.i32`)
  MmapArray.create(path, { shape: [LEN], dtype: 'int32' }).close()
  return MmapArray.open(path, { shape: [LEN], dtype: 'int32', mode: 'r+' }) as unknown as Arr
}

function done(arr: Arr): void {
  arr.close()
  ;(arr as { unlink?: () => void }).unlink?.()
}

describe.each(KINDS)('wait and notify across processes: %s', (tag, kind) => {
  it("notify here wakes the peer's wait and waitAsync; the peer's notify wakes ours", async () => {
    const arr = make(kind, `${tag}-1`)
    const p = peer(kind, arr.path)
    expect((await p.next()).op).toBe('ready')

    for (const op of ['wait', 'waitAsync']) {
      p.child.send({ op, index: 1, expected: 0, timeoutMs: 30_000 })
      expect((await p.next()).op).toBe('waiting')
      Atomics.store(arr.array, 1, 0) // unchanged: the wake is the notify
      expect(await notifyUntilWoken(() => arr.notify(1))).toBe(1)
      expect(await p.next()).toEqual({ op: 'waited', result: 'ok' })
    }

    // The other way: our waitAsync, the peer stores and notifies.
    const mine = arr.waitAsync(2, 0, 30_000)
    let answer: any
    for (let i = 0; i < 2000; i++) {
      answer = await p.ask({ op: 'notify', index: 2 })
      if (answer.woken > 0) break
      await sleep(5)
    }
    expect(answer).toEqual({ op: 'notified', woken: 1 })
    expect(await mine).toBe('ok')

    await p.exit()
    done(arr)
  })

  it('not-equal, timed-out, and the count of notify', async () => {
    const arr = make(kind, `${tag}-2`)
    const p = peer(kind, arr.path)
    expect((await p.next()).op).toBe('ready')
    expect(await p.ask({ op: 'store', index: 3, value: 7 })).toEqual({ op: 'stored' })
    expect(arr.wait(3, 0)).toBe('not-equal')
    expect(await arr.waitAsync(3, 0)).toBe('not-equal')
    expect(arr.wait(3, 7, 20)).toBe('timed-out')
    expect(await arr.waitAsync(3, 7, 20)).toBe('timed-out')
    expect(arr.wait(3, 7, 0)).toBe('timed-out')

    p.child.send({ op: 'wait', index: 4, expected: 0, timeoutMs: 50 })
    expect((await p.next()).op).toBe('waiting')
    expect(await p.next()).toEqual({ op: 'waited', result: 'timed-out' })

    // Three waiters here, the peer wakes two, then the rest.
    const three = [arr.waitAsync(5, 0), arr.waitAsync(5, 0), arr.waitAsync(5, 0)]
    const settled: string[] = []
    three.forEach((w) => w.then((r) => settled.push(r)))
    let woken = 0
    for (let i = 0; i < 2000 && woken < 3; i++) {
      await sleep(5)
      woken += (await p.ask({ op: 'notify', index: 5, count: woken === 0 ? 2 : Infinity })).woken
      if (woken > 0 && woken < 3) expect(woken).toBeLessThanOrEqual(2)
    }
    expect(woken).toBe(3)
    expect(await Promise.all(three)).toEqual(['ok', 'ok', 'ok'])
    expect(arr.notify(5)).toBe(0)
    expect(arr.notify(5, 0)).toBe(0)

    await p.exit()
    done(arr)
  })
})

it.skipIf(WINE)(
  wineTest(
    'a file array as created (not opened again) meets a peer that opened the file',
    'Wine reports volume serial 0 for the handle of a file created under a temporary name, so the two ' +
      'derive different wait names; Windows documents the serial for every handle',
  ),
  async () => {
    const arr = MmapArray.create(join(dir, 'wait-created.i32'), { shape: [LEN], dtype: 'int32' }) as unknown as Arr
    const p = peer('file', arr.path)
    expect((await p.next()).op).toBe('ready')
    p.child.send({ op: 'waitAsync', index: 6, expected: 0, timeoutMs: 30_000 })
    expect((await p.next()).op).toBe('waiting')
    expect(await notifyUntilWoken(() => arr.notify(6))).toBe(1)
    expect(await p.next()).toEqual({ op: 'waited', result: 'ok' })
    await p.exit()
    arr.close()
  },
)

describe('waitAsync off the threadpool', () => {
  it("1,000 pending waitAsync calls leave fs working; notify wakes them all with 'ok'", async () => {
    const arr = SharedMemoryArray.create({ shape: [2], dtype: 'int32' })
    const pending = Array.from({ length: 1000 }, () => arr.waitAsync(0, 0))
    // libuv's threadpool has 4 threads: if any wait sat on it, this would never finish.
    const text = await Promise.race([readFile(__filename, 'utf8'), sleep(10_000).then(() => 'fs starved')])
    expect(text).not.toBe('fs starved')
    let woken = 0
    for (let i = 0; i < 4000 && woken < 1000; i++) {
      woken += arr.notify(0)
      if (woken < 1000) await sleep(5)
    }
    expect(woken).toBe(1000)
    expect(new Set(await Promise.all(pending))).toEqual(new Set(['ok']))
    done(arr as Arr)
  }, 60_000)

  it('close() rejects pending waits with ERR_MMAP_CLOSED and wakes no other process', async () => {
    const arr = SharedMemoryArray.create({ shape: [LEN], dtype: 'int32' })
    const p = peer('shm', arr.path)
    expect((await p.next()).op).toBe('ready')
    p.child.send({ op: 'waitAsync', index: 0, expected: 0, timeoutMs: 1500 })
    expect((await p.next()).op).toBe('waiting')

    const second = SharedMemoryArray.open(arr.path, { shape: [LEN], dtype: 'int32' })
    const pending = [second.waitAsync(0, 0), second.waitAsync(0, 0, 60_000), second.waitAsync(1, 0)]
    await sleep(50)
    second.close()
    const errs = await Promise.all(
      pending.map((w) =>
        w.then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    )
    for (const e of errs) {
      expect(e).toBeInstanceOf(MmapError)
      expect((e as MmapError).code).toBe('ERR_MMAP_CLOSED')
    }
    // The peer's waiter was not woken by the close: it times out.
    expect(await p.next()).toEqual({ op: 'waited', result: 'timed-out' })
    await p.exit()
    done(arr as Arr)
  })
})

describe('wait arguments', () => {
  const DTYPES = ['int8', 'uint8', 'int16', 'uint16', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'bool']

  it.each(DTYPES)('a %s array refuses wait, waitAsync and notify, naming its dtype', async (dtype) => {
    const arr = createSharedBuffer(dtype as 'float64', 8) as unknown as Arr
    for (const call of [() => arr.wait(0, 0, 0), () => arr.notify(0)]) {
      const e = thrown(call)
      expect(e.code).toBe('ERR_MMAP_INVALID_ARG')
      expect(e.message).toContain(dtype)
    }
    await expect(arr.waitAsync(0, 0, 0)).rejects.toMatchObject({ code: 'ERR_MMAP_INVALID_ARG' })
    arr.close()
  })

  it('int32 of every mapping: createSharedBuffer, MmapArray, SharedMemoryArray', async () => {
    const a = createSharedBuffer('int32', 4)
    expect(a.wait(0, 1)).toBe('not-equal')
    expect(a.wait(0, 0, 1)).toBe('timed-out')
    const w = a.waitAsync(3, 0)
    expect(await notifyUntilWoken(() => a.notify(3, 1))).toBe(1)
    expect(await w).toBe('ok')
    a.close()
    const f = MmapArray.create(join(dir, 'args.i32'), { shape: [2, 3], dtype: 'int32' })
    expect(f.wait(5, 0, 1)).toBe('timed-out') // flat index
    f.close()
    const r = MmapArray.open(join(dir, 'args.i32'), { shape: [6], dtype: 'int32', mode: 'r' })
    expect(r.wait(5, 0, 1)).toBe('timed-out') // a private map waits too (seen by this process only)
    r.close()
  })

  it('bad index, expected and timeout throw from wait and notify, and reject from waitAsync', async () => {
    const arr = createSharedBuffer('int32', 4)
    const bad: [string, () => unknown, () => Promise<unknown>][] = [
      ['index -1', () => arr.wait(-1, 0, 0), () => arr.waitAsync(-1, 0, 0)],
      ['index 4', () => arr.wait(4, 0, 0), () => arr.waitAsync(4, 0, 0)],
      ['index 1.5', () => arr.wait(1.5, 0, 0), () => arr.waitAsync(1.5, 0, 0)],
      ['index NaN', () => arr.wait(NaN, 0, 0), () => arr.waitAsync(NaN, 0, 0)],
      ['index "1"', () => arr.wait('1' as never, 0, 0), () => arr.waitAsync('1' as never, 0, 0)],
      ['expected 2**31', () => arr.wait(0, 2 ** 31, 0), () => arr.waitAsync(0, 2 ** 31, 0)],
      ['expected 0.5', () => arr.wait(0, 0.5, 0), () => arr.waitAsync(0, 0.5, 0)],
      ['expected 0n', () => arr.wait(0, 0n as never, 0), () => arr.waitAsync(0, 0n as never, 0)],
      ['timeout -1', () => arr.wait(0, 0, -1), () => arr.waitAsync(0, 0, -1)],
      ['timeout NaN', () => arr.wait(0, 0, NaN), () => arr.waitAsync(0, 0, NaN)],
      ['timeout "5"', () => arr.wait(0, 0, '5' as never), () => arr.waitAsync(0, 0, '5' as never)],
    ]
    for (const [what, sync, async] of bad) {
      expect(thrown(sync).code, what).toBe('ERR_MMAP_INVALID_ARG')
      await expect(async(), what).rejects.toMatchObject({ code: 'ERR_MMAP_INVALID_ARG' })
    }
    for (const count of [-1, 1.5, NaN, '2']) {
      expect(thrown(() => arr.notify(0, count as never)).code).toBe('ERR_MMAP_INVALID_ARG')
    }
    expect(thrown(() => arr.notify(4)).code).toBe('ERR_MMAP_INVALID_ARG')
    expect(arr.wait(0, -(2 ** 31), 0)).toBe('not-equal')
    expect(arr.wait(0, 0, 0)).toBe('timed-out')
    expect(await arr.waitAsync(0, 0, 0)).toBe('timed-out')
    expect(arr.notify(0, Infinity)).toBe(0)
    arr.close()
    expect(thrown(() => arr.wait(0, 0, 0)).code).toBe('ERR_MMAP_CLOSED')
    expect(thrown(() => arr.notify(0)).code).toBe('ERR_MMAP_CLOSED')
    await expect(arr.waitAsync(0, 0)).rejects.toMatchObject({ code: 'ERR_MMAP_CLOSED' })
  })
})

/** Runs fixtures/wait-hostile.mjs `scenario` with a watchdog; its JSON line and how it ended. */
function hostile(scenario: string, path: string, nodeArgs: string[] = []) {
  return new Promise<{ code: number | null; signal: string | null; out: any; stderr: string }>((done) => {
    const child = spawn(process.execPath, [...nodeArgs, join(FIXTURES, 'wait-hostile.mjs'), scenario, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog)
      let out: any
      try {
        out = JSON.parse(stdout.trim().split('\n').pop() ?? '')
      } catch {
        out = stdout
      }
      done({ code, signal, out, stderr })
    })
  })
}

describe('hostile waits (each in a child process, with a watchdog)', () => {
  it('closing during pending waits: every one rejects ERR_MMAP_CLOSED at once, no crash', async () => {
    const arr = SharedMemoryArray.create({ shape: [4], dtype: 'int32' })
    const r = await hostile('close', arr.path)
    expect(r.signal, r.stderr).toBeNull()
    expect(r.code, r.stderr).toBe(0)
    expect(r.out.results).toEqual(['ERR_MMAP_CLOSED'])
    expect(r.out.closed).toBe(true)
    expect(r.out.ms).toBeLessThan(5000) // "returned": immediate on Linux/Windows, 50 ms slices elsewhere
    done(arr as Arr)
  })

  it('gc() with only pending waits holding an array: the waits survive and a notify ends them, no crash, no hang', async () => {
    const arr = SharedMemoryArray.create({ shape: [4], dtype: 'int32' })
    const r = await hostile('gc', arr.path, ['--expose-gc'])
    expect(r.signal, r.stderr).toBeNull()
    expect(r.code, r.stderr).toBe(0)
    // A pending wait keeps its array's mapping alive through gc(); a notify from another map ends it.
    expect(r.out).toEqual({ results: ['ok'], collected: false })
    done(arr as Arr)
  })

  it.skipIf(WINDOWS)(
    posixTest(
      'a waiter SIGKILLed while it waits leaves nothing behind: notify counts only live waiters',
      NOT_ON_WINDOWS.signals,
    ),
    async () => {
      const arr = SharedMemoryArray.create({ shape: [LEN], dtype: 'int32' })
      const p = peer('shm', arr.path)
      expect((await p.next()).op).toBe('ready')
      p.child.send({ op: 'wait', index: 0, expected: 0 })
      expect((await p.next()).op).toBe('waiting')
      await sleep(100)
      const exited = new Promise<string | null>((r) => p.child.on('exit', (_c, s) => r(s)))
      p.child.kill('SIGKILL')
      expect(await exited).toBe('SIGKILL')
      expect(arr.notify(0)).toBe(0)
      const mine = arr.waitAsync(0, 0, 30_000)
      expect(await notifyUntilWoken(() => arr.notify(0))).toBe(1)
      expect(await mine).toBe('ok')
      done(arr as Arr)
    },
  )

  it.skipIf(WINDOWS)(
    posixTest('the notifying peer SIGKILLed: our wait still ends by its timeout', NOT_ON_WINDOWS.signals),
    async () => {
      const arr = SharedMemoryArray.create({ shape: [LEN], dtype: 'int32' })
      const p = peer('shm', arr.path)
      expect((await p.next()).op).toBe('ready')
      const mine = arr.waitAsync(1, 0, 300)
      p.child.kill('SIGKILL')
      expect(await mine).toBe('timed-out')
      done(arr as Arr)
    },
  )
})
