import { fork, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import Tinypool from 'tinypool'
import { describe, expect, it } from 'vitest'

import { createSharedBuffer, MmapError, SHARED_MEMORY_DIR, SharedMemoryArray } from '../dist/index.mjs'
import {
  fixture,
  fixtureCommand,
  FIXTURES,
  NOT_ON_WINDOWS,
  posixCheck,
  posixTest,
  tempDir,
  thrown,
  WINDOWS,
} from './helpers'

const dir = tempDir()
/** Not a file on Windows: a region there can be opened by its path, not listed or stat'ed. */
const NOT_A_FILE = 'a region is not a file on Windows'

/** Whether a region's name still exists: its file, or on Windows whether it opens by its path. */
function regionExists(path: string): boolean {
  if (!WINDOWS) return existsSync(path)
  try {
    SharedMemoryArray.open(path, { dtype: 'uint8' }).close()
    return true
  } catch (err) {
    if ((err as MmapError).code === 'ENOENT') return false
    throw err
  }
}

function forkWorker(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => {
    const child = fork(join(FIXTURES, 'shm-worker.mjs'), args, { stdio: 'pipe' })
    child.on('exit', (code, signal) => done({ code, signal }))
  })
}

/**
 * A child running `scenario` of fixtures/<module>.mjs with `args` (fixtures/run.mjs), its stdout
 * read line by line: `line()` is the next one, `exited` how it ended.
 */
function startChild(module: string, scenario: string, args: string[] = []) {
  const child = spawn(process.execPath, fixtureCommand(module, scenario, args), { stdio: ['pipe', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const lines: string[] = []
  const waiting: ((line: string) => void)[] = []
  let buffered = ''
  child.stdout.on('data', (d) => {
    buffered += d
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i).trim()
      buffered = buffered.slice(i + 1)
      const next = waiting.shift()
      if (next) next(line)
      else lines.push(line)
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  )
  const line = (): Promise<string> => {
    const ready = lines.shift()
    if (ready !== undefined) return Promise.resolve(ready)
    return Promise.race([
      new Promise<string>((done) => waiting.push(done)),
      exited.then((how) => {
        throw new Error(`child ended (${JSON.stringify(how)}) before a line; stderr:\n${err}`)
      }),
    ])
  }
  return { child, line, exited, stderr: () => err }
}

/** Removes a region a failed test may have left (the suite must leave none). */
function cleanUp(path: string | undefined): void {
  if (path === undefined || !regionExists(path)) return
  if (WINDOWS) return // the name goes with the processes that hold it
  unlinkSync(path)
}

describe('SharedMemoryArray.create', () => {
  it('makes a zero-filled 0600 region in /dev/shm under an unguessable name', () => {
    using shm = SharedMemoryArray.create({ shape: [100, 3], dtype: 'float32' })
    expect(dirname(shm.path)).toBe(SHARED_MEMORY_DIR)
    if (process.platform === 'linux') expect(SHARED_MEMORY_DIR).toBe('/dev/shm')
    expect(shm.path).toMatch(new RegExp(`[\\\\/]memmap-${process.pid}-[0-9a-f]{32}$`))
    if (posixCheck(NOT_A_FILE)) {
      expect(statSync(shm.path).mode & 0o777).toBe(0o600)
      expect(statSync(shm.path).size).toBe(1200)
    }
    expect([shm.dtype, ...shm.shape]).toEqual(['float32', 100, 3])
    expect(shm.array.every((v) => v === 0)).toBe(true)
    shm.unlink()
  })

  it('has every MmapArray member', async () => {
    const shm = SharedMemoryArray.create({ shape: [4, 2], dtype: 'int32' })
    shm.fill(3)
    shm.set(-1, -1, 10)
    expect(shm.get(3, 1)).toBe(10)
    expect(Array.from(shm.slice(3))).toEqual([3, 10])
    expect([shm.sum(), shm.min(), shm.max(), shm.mean()]).toEqual([31, 3, 10, 31 / 8])
    expect(shm.std()).toBeCloseTo(Math.sqrt((7 * (3 - 31 / 8) ** 2 + (10 - 31 / 8) ** 2) / 8), 12)
    expect([shm.length, shm.size, shm.ndim, shm.itemsize, shm.byteLength, shm.readonly]).toEqual([
      4,
      8,
      2,
      4,
      32,
      false,
    ])
    expect(shm.info()).toMatchObject({ path: shm.path, shape: [4, 2], dtype: 'int32', byteLength: 32 })
    shm.flush()
    await shm.flushAsync()
    shm.advise('willneed')
    const view = shm.array
    shm.unlink()
    expect(view.length).toBe(0)
    expect(thrown(() => shm.sum()).code).toBe('ERR_MMAP_CLOSED')
  })

  it('refuses an existing name (O_EXCL)', () => {
    const name = `memmap-test-${process.pid}-excl`
    using a = SharedMemoryArray.create({ shape: 4, name })
    expect(thrown(() => SharedMemoryArray.create({ shape: 4, name }))).toMatchObject({ code: 'EEXIST', path: a.path })
    a.unlink()
  })

  it.skipIf(WINDOWS)(posixTest('refuses a symlink planted at the name', NOT_ON_WINDOWS.symlinks), () => {
    const target = join(dir, 'victim.bin')
    writeFileSync(target, 'precious')
    const trap = `memmap-test-${process.pid}-trap`
    symlinkSync(target, join(SHARED_MEMORY_DIR, trap))
    try {
      expect(thrown(() => SharedMemoryArray.create({ shape: 1024, name: trap })).code).toBe('EEXIST')
      expect(statSync(target).size).toBe(8)
    } finally {
      unlinkSync(join(SHARED_MEMORY_DIR, trap))
    }
  })

  it('names are unique over 10,000 creates', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const s = SharedMemoryArray.create({ shape: 1, dtype: 'uint8' })
      seen.add(s.path)
      s.unlink()
    }
    expect(seen.size).toBe(10_000)
  })

  it('rejects bad options with ERR_MMAP_INVALID_ARG', () => {
    for (const bad of [
      {},
      { shape: -1 },
      { shape: 2, dtype: 'f16' },
      { shape: 2, name: '../etc/x' },
      { shape: 2, name: 'a/b' },
      { shape: 2, name: '' },
      { shape: 2, name: '..' },
      { shape: 2, persistent: 'yes' },
    ]) {
      const e = thrown(() => SharedMemoryArray.create(bad as never))
      expect(e, JSON.stringify(bad)).toBeInstanceOf(MmapError)
      expect(e.code, JSON.stringify(bad)).toBe('ERR_MMAP_INVALID_ARG')
    }
  })
})

describe('open, close, unlink', () => {
  it('open attaches by path; shape may be inferred; close() leaves the region for others', () => {
    const shm = SharedMemoryArray.create({ shape: 6, dtype: 'uint16' })
    const other = SharedMemoryArray.open(shm.path, { dtype: 'uint16' })
    expect(other.shape).toEqual([6])
    other.set(5, 500)
    expect(shm.get(5)).toBe(500) // the same memory
    other.close()
    expect(regionExists(shm.path)).toBe(true)
    using again = SharedMemoryArray.open(shm.path, { shape: [2, 3], dtype: 'u2' })
    expect(again.get(1, 2)).toBe(500)
    shm.unlink()
  })

  it('unlink() closes and removes; is idempotent; open after unlink is ENOENT', () => {
    const shm = SharedMemoryArray.create({ shape: 2 })
    const path = shm.path
    shm.unlink()
    expect(shm.closed).toBe(true)
    expect(regionExists(path)).toBe(false)
    shm.unlink()
    expect(thrown(() => SharedMemoryArray.open(path))).toMatchObject({ code: 'ENOENT', path })
  })
})

describe('members that steer destructive or bounded work are private state', () => {
  it.skipIf(WINDOWS)(
    posixTest(
      'SharedMemoryArray.unlink() removes its own region even if path is redefined on the object',
      'regions are not files on Windows',
    ),
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'memmap-contract-unlink-'))
      try {
        const victim = join(dir, 'victim')
        writeFileSync(victim, 'keep')
        const s = SharedMemoryArray.create({ shape: 2 })
        const region = s.path
        Object.defineProperty(s, 'path', { value: victim })
        s.unlink()
        expect(existsSync(victim)).toBe(true)
        expect(existsSync(region)).toBe(false)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )
})

describe('across processes (child_process.fork)', () => {
  it('N workers write disjoint ranges; the parent sees every value without reopening', async () => {
    const N = 4
    const rows = 40_000
    using shm = SharedMemoryArray.create({ shape: [rows], dtype: 'float64' })
    const per = rows / N
    const results = await Promise.all(
      Array.from({ length: N }, (_, w) =>
        forkWorker([shm.path, JSON.stringify(shm.shape), shm.dtype, String(w * per), String((w + 1) * per)]),
      ),
    )
    for (const r of results) expect(r).toEqual({ code: 0, signal: null })
    for (let i = 0; i < rows; i++) if (shm.get(i) !== i * 2 + 1) throw new Error(`row ${i} is ${shm.get(i)}`)
    expect(shm.sum()).toBe(rows * rows) // sum of the first `rows` odd numbers
    shm.unlink()
  })

  it('a worker that aborts leaves the parent mapping intact and its writes visible', async () => {
    using shm = SharedMemoryArray.create({ shape: [1000], dtype: 'int32' })
    const r = await forkWorker([shm.path, '[1000]', 'int32', '0', '500', 'abort'])
    // Windows has no SIGABRT: Node's abort() there is _exit(134) (src/util.h, ABORT_NO_BACKTRACE).
    expect(r).toEqual(WINDOWS ? { code: 134, signal: null } : { code: null, signal: 'SIGABRT' })
    for (let i = 0; i < 500; i++) expect(shm.get(i)).toBe(i * 2 + 1)
    expect(shm.get(500)).toBe(0)
    shm.set(999, 7)
    expect(shm.get(999)).toBe(7)
    shm.unlink()
  })

  it('the same through a tinypool pool of child processes', async () => {
    const pool = new Tinypool({
      filename: join(FIXTURES, 'shm-task.mjs'),
      runtime: 'child_process',
      minThreads: 2,
      maxThreads: 2,
      // tinypool starts its children with an empty environment unless given one; under qemu-user
      // (the arm64 run) they need QEMU_LD_PREFIX to start at all.
      env: { ...process.env } as Record<string, string>,
    })
    try {
      using shm = SharedMemoryArray.create({ shape: [10_000], dtype: 'float64' })
      const tasks = Array.from({ length: 8 }, (_, t) =>
        pool.run({ path: shm.path, shape: [...shm.shape], dtype: shm.dtype, start: t * 1250, end: (t + 1) * 1250 }),
      )
      const out = (await Promise.all(tasks)) as { pid: number; sum: number }[]
      expect(new Set(out.map((o) => o.pid)).size).toBeGreaterThan(1) // really several processes
      expect(out.every((o) => o.pid !== process.pid)).toBe(true)
      expect(out.reduce((s, o) => s + o.sum, 0)).toBe((9999 * 10_000) / 2)
      for (let i = 0; i < 10_000; i += 997) expect(shm.get(i)).toBe(i)
      expect(shm.sum()).toBe((9999 * 10_000) / 2)
      shm.unlink()
    } finally {
      await pool.destroy()
    }
  })

  it('real-time pipeline: a sequence number makes every frame the consumer accepts whole', async () => {
    const frames = 3000
    const len = 4096
    using shm = SharedMemoryArray.create({ shape: [len + 1], dtype: 'int32' })
    const run = (role: string) =>
      new Promise<string>((done, fail) => {
        const c = spawn(process.execPath, [join(FIXTURES, 'seqlock.mjs'), role, shm.path, String(frames), String(len)])
        let out = ''
        c.stdout.on('data', (d) => (out += d))
        c.stderr.on('data', (d) => (out += d))
        c.on('exit', (code) => (code === 0 ? done(out) : fail(new Error(`${role} exited ${code}: ${out}`))))
      })
    const consumer = run('consumer')
    await run('producer')
    const result = JSON.parse(await consumer)
    expect(result.torn).toBe(0)
    expect(result.last).toBe(frames)
    expect(result.accepted).toBeGreaterThan(0)
    shm.unlink()
  })
})

describe('regions whose creator exits without unlink()', () => {
  const created = (persistent: boolean): string => {
    return fixture('shared', 'createAndExit', [String(persistent)])
  }

  it("are removed at the creator's exit: nothing leaks in /dev/shm", () => {
    const path = created(false)
    expect(path).toContain('memmap-')
    expect(regionExists(path)).toBe(false)
  })

  it.runIf(WINDOWS)('persistent: true is a clear error on Windows, where a region lives only while held', () => {
    const e = thrown(() => SharedMemoryArray.create({ shape: 4, persistent: true }))
    expect(e).toMatchObject({ code: 'ERR_MMAP_INVALID_ARG' })
    expect(e.message).toContain('Windows')
  })

  it.skipIf(WINDOWS)(
    posixTest(
      'persistent: true keeps the region after its creator exits',
      'a Windows region lives only while some process holds it (the test above checks the error there)',
    ),
    () => {
      const path = created(true)
      expect(regionExists(path)).toBe(true)
      using s = SharedMemoryArray.open(path, { dtype: 'int32' })
      expect(s.get(0)).toBe(42)
      s.unlink()
    },
  )

  it('a process already attached keeps working after the creator exits and the name is gone', async () => {
    // The creator waits for a line on stdin before exiting; we attach meanwhile.
    const creator = spawn(process.execPath, fixtureCommand('shared', 'createAndWait'), {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const path = await new Promise<string>((done) => creator.stdout.once('data', (d) => done(String(d).trim())))
    const attached = SharedMemoryArray.open(path, { dtype: 'int32' })
    creator.stdin.write('bye\n')
    await new Promise((done) => creator.on('exit', done))
    // Windows keeps a named mapping's name while any process maps it: gone once we close too.
    expect(regionExists(path)).toBe(WINDOWS)
    expect(attached.get(0)).toBe(7)
    attached.set(1, 8)
    expect(attached.get(1)).toBe(8)
    attached.close()
    expect(regionExists(path)).toBe(false)
  })

  it('a creator stopped by SIGTERM or SIGINT removes its regions too', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const creator = spawn(process.execPath, fixtureCommand('shared', 'createAndRun'), {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const path = await new Promise<string>((done) => creator.stdout.once('data', (d) => done(String(d).trim())))
      expect(regionExists(path)).toBe(true)
      creator.kill(signal)
      const how = await new Promise((done) => creator.on('exit', (code, sig) => done(sig ?? code)))
      expect(how).toBe(signal) // still dies by the signal, as it would have
      expect(regionExists(path), signal).toBe(false)
    }
  })
  it.skipIf(WINDOWS)(
    posixTest(
      'a program with its own SIGINT or SIGTERM listener keeps running with its regions, removed when it exits',
      NOT_ON_WINDOWS.signals,
    ),
    async () => {
      // The program's listener installed before the first region (SIGINT) and after it (SIGTERM).
      for (const [signal, before] of [
        ['SIGINT', true],
        ['SIGTERM', false],
      ] as const) {
        const c = startChild('shared', 'ownListener', [signal, String(before)])
        let path: string | undefined
        try {
          path = await c.line()
          for (let n = 0; n < 2; n++) {
            // Twice: the package's listener stays, and stays out of the way, for later signals.
            c.child.kill(signal)
            expect(await c.line()).toBe(`handled ${signal}`)
            expect(regionExists(path), `${signal} #${n + 1}`).toBe(true)
          }
          using s = SharedMemoryArray.open(path, { dtype: 'int32' })
          expect(s.get(0)).toBe(42)
          c.child.stdin.write('bye\n')
          expect(await c.exited).toEqual({ code: 0, signal: null })
          expect(regionExists(path), signal).toBe(false)
        } finally {
          c.child.kill('SIGKILL')
          cleanUp(path)
        }
      }
    },
  )

  it.skipIf(WINDOWS)(
    posixTest(
      "a creator's exit leaves alone a region another process made since under the same name",
      'a Windows name belongs to the mapping that holds it: it cannot be removed and made again while held',
    ),
    async () => {
      for (const end of ['exit', 'SIGTERM'] as const) {
        const name = `memmap-test-${process.pid}-taken-${end}`
        // A creates the region, then waits.
        const a = startChild('shared', 'holdName', [name])
        let path: string | undefined
        try {
          path = await a.line()
          // B removes A's region and makes its own, persistent, under the same name.
          expect(fixture('shared', 'takeOver', [path, name])).toBe('taken')
          if (end === 'exit') a.child.stdin.write('bye\n')
          else a.child.kill('SIGTERM')
          expect(await a.exited).toEqual(end === 'exit' ? { code: 0, signal: null } : { code: null, signal: 'SIGTERM' })
          expect(regionExists(path), `A ended by ${end}`).toBe(true) // B's is still there
          using s = SharedMemoryArray.open(path, { dtype: 'int32' })
          expect([s.size, s.get(0)]).toEqual([8, 99])
        } finally {
          a.child.kill('SIGKILL')
          cleanUp(path)
        }
      }
    },
  )

  it.skipIf(WINDOWS)(
    posixTest(
      "unlink() of a region whose name another process took over since leaves the other's",
      'a Windows name belongs to the mapping that holds it: it cannot be removed and made again while held',
    ),
    () => {
      const name = `memmap-test-${process.pid}-taken`
      const mine = SharedMemoryArray.create({ shape: 4, name })
      unlinkSync(mine.path) // what another process may do; then it makes its own region there
      writeFileSync(mine.path, 'theirs', { mode: 0o600 })
      try {
        mine.unlink()
        expect(regionExists(mine.path)).toBe(true)
      } finally {
        unlinkSync(mine.path)
      }
    },
  )
})

describe('regions created in worker threads belong to the process', () => {
  /**
   * A child process whose worker thread creates a region, then ends (`'returns'`) or is
   * terminated; the main thread (which loads the package itself or not) prints the path once the
   * worker is gone, then ends as `end` says: a line on stdin (normal exit, or `process.exit()`),
   * or a signal from the test.
   */
  async function workerRegion(opts: {
    mainLoads: boolean
    worker: 'returns' | 'terminated'
    end: 'normal' | 'exit' | 'SIGTERM'
  }) {
    return startChild('shm-worker-region', 'regionFromWorker', [String(opts.mainLoads), opts.worker, opts.end])
  }

  for (const mainLoads of [true, false]) {
    const main = mainLoads ? 'the main thread uses the package too' : 'only the worker loads the package'
    for (const worker of ['returns', 'terminated'] as const) {
      it(`a region a worker created lives on after the worker ${worker === 'returns' ? 'ends' : 'is terminated'}, until the process exits (${main})`, async () => {
        for (const end of ['normal', 'exit'] as const) {
          const c = await workerRegion({ mainLoads, worker, end })
          let path: string | undefined
          try {
            path = await c.line()
            expect(path).toContain('memmap-')
            expect(regionExists(path), `${end}: worker gone, process running`).toBe(true)
            const s = SharedMemoryArray.open(path, { dtype: 'int32' })
            expect(s.get(0)).toBe(7)
            s.close()
            c.child.stdin.write('bye\n')
            expect(await c.exited, c.stderr()).toEqual({ code: 0, signal: null })
            expect(regionExists(path), `${end}: process exited`).toBe(false)
          } finally {
            c.child.kill('SIGKILL')
            cleanUp(path)
          }
        }
      })
    }
  }

  it.skipIf(WINDOWS)(
    posixTest('a region a worker created is removed when a signal kills the process', NOT_ON_WINDOWS.signals),
    async () => {
      for (const worker of ['returns', 'terminated'] as const) {
        const c = await workerRegion({ mainLoads: true, worker, end: 'SIGTERM' })
        let path: string | undefined
        try {
          path = await c.line()
          expect(regionExists(path)).toBe(true)
          c.child.kill('SIGTERM')
          expect(await c.exited).toEqual({ code: null, signal: 'SIGTERM' })
          expect(regionExists(path), worker).toBe(false)
        } finally {
          c.child.kill('SIGKILL')
          cleanUp(path)
        }
      }
    },
  )
})

describe('createSharedBuffer', () => {
  it('is anonymous shared memory: zero-filled, typed, no file, detached on close', () => {
    const buf = createSharedBuffer('float64', 1000)
    expect([buf.dtype, ...buf.shape, buf.path]).toEqual(['float64', 1000, ''])
    expect(buf.sum()).toBe(0)
    buf.array.forEach((_, i) => buf.set(i, i))
    expect(buf.sum()).toBe(499_500)
    expect(buf.max()).toBe(999)
    const view = buf.array
    buf.close()
    expect(view.length).toBe(0)
    using small = createSharedBuffer(Int16Array, 3)
    expect(small.dtype).toBe('int16')
    using empty = createSharedBuffer('u1', 0)
    expect(empty.size).toBe(0)
    for (const bad of [
      ['f8', -1],
      ['f8', 1.5],
      ['f8', '3'],
      ['nope', 3],
      ['f8', [2, 2]],
    ]) {
      expect(thrown(() => createSharedBuffer(bad[0] as never, bad[1] as never)).code).toBe('ERR_MMAP_INVALID_ARG')
    }
  })
})

const leftovers = posixTest('leaves no memmap region of this process in the shared memory directory', NOT_A_FILE)
it.skipIf(WINDOWS)(leftovers, () => {
  const mine = readdirSync(SHARED_MEMORY_DIR).filter((n) => n.startsWith(`memmap-${process.pid}-`))
  expect(mine).toEqual([])
})
