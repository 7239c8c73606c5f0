// Issue #11, items 1–3: every writer builds its file beside the path, flushes it, and renames it
// into place; a failure leaves the file system as it was; OS codes survive the overwrite path.
// Named for that property, not a module: the writers are in array.ts, binary.ts, npy.ts and
// shared.ts, the staging in the Rust core.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapArray, saveBinary, saveNpy, SharedMemoryArray } from '../dist/index.mjs'
import {
  expectCleanExit,
  FIXTURES,
  NOT_ON_WINDOWS,
  posixCheck,
  posixTest,
  QEMU,
  tempDir,
  thrown,
  WINDOWS,
} from './helpers'

function run(
  script: string,
  args: string[],
): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(FIXTURES, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (status, signal) => done({ status, signal, stdout, stderr }))
  })
}

describe('replacing a file is atomic', () => {
  const dir = tempDir()

  it.skipIf(WINDOWS)(
    posixTest(
      'a reader process loops while a writer replaces two files 1,000 times: 0 partial reads',
      'Windows refuses to replace a file that a process maps (EBUSY, tested in hostile.test.ts)',
    ),
    async () => {
      const npy = join(dir, 'replaced.npy')
      const raw = join(dir, 'replaced.bin')
      const stop = join(dir, 'stop')
      saveNpy(npy, new Float64Array(512))
      saveBinary(raw, new Float64Array(512))
      const reader = run('replace-reader.mjs', [npy, raw, stop])
      const writer = await run('replace-writer.mjs', [npy, raw, '1000'])
      writeFileSync(stop, '')
      const read = await reader
      expectCleanExit(writer)
      expectCleanExit(read)
      const counts = JSON.parse(read.stdout)
      expect(counts.errors).toEqual({})
      expect(counts.partial).toBe(0)
      // The reader really raced the writer: it saw many versions, not just the first or last.
      expect(counts.versions).toBeGreaterThan(10)
      expect(readdirSync(dir).sort()).toEqual(['replaced.bin', 'replaced.npy', 'stop'])
    },
    120_000,
  )

  it('a value that cannot convert leaves no new file, and an overwritten file untouched', () => {
    const sub = join(dir, 'convert')
    mkdirSync(sub)
    const fresh = join(sub, 'fresh.bin')
    const old = join(sub, 'old.bin')
    writeFileSync(old, 'precious')
    for (const data of [Float64Array.of(1, 1.5), [1, 1.5]]) {
      expect(thrown(() => MmapArray.fromArray(fresh, data, { dtype: 'int64' })).code).toBe('ERR_MMAP_INVALID_ARG')
      expect(thrown(() => MmapArray.fromArray(old, data, { dtype: 'int64', overwrite: true })).code).toBe(
        'ERR_MMAP_INVALID_ARG',
      )
    }
    expect(readdirSync(sub)).toEqual(['old.bin'])
    expect(readFileSync(old, 'utf8')).toBe('precious')
  })

  it('every writer leaves only its file: no temporary file beside it', () => {
    const sub = join(dir, 'clean')
    mkdirSync(sub)
    const p = join(sub, 'f')
    saveBinary(`${p}.bin`, Int32Array.of(1, 2))
    saveBinary(`${p}.bin`, Int32Array.of(3), { overwrite: true })
    saveNpy(`${p}.npy`, Int32Array.of(1, 2))
    saveNpy(`${p}.npy`, Int32Array.of(3), { overwrite: true })
    MmapArray.create(`${p}.c`, { shape: 3, fill: 2 }).close()
    MmapArray.create(`${p}.c`, { shape: 2, fill: 5, overwrite: true }).close()
    MmapArray.fromArray(`${p}.a`, [1, 2]).close()
    MmapArray.fromArray(`${p}.a`, [7], { overwrite: true }).close()
    expect(readdirSync(sub).sort()).toEqual(['f.a', 'f.bin', 'f.c', 'f.npy'])
    expect([...new Int32Array(Uint8Array.from(readFileSync(`${p}.bin`)).buffer)]).toEqual([3])
    expect([...new Float64Array(Uint8Array.from(readFileSync(`${p}.c`)).buffer)]).toEqual([5, 5])
    expect([...new Float64Array(Uint8Array.from(readFileSync(`${p}.a`)).buffer)]).toEqual([7])
  })

  it('create over an existing file without overwrite is EEXIST, before any work, and leaves it as it was', () => {
    const p = join(dir, 'exists.bin')
    writeFileSync(p, 'keep')
    const err = thrown(() => MmapArray.create(p, { shape: 2 ** 30, fill: 1 }))
    expect(err.code).toBe('EEXIST')
    expect(err.path).toBe(p)
    expect(readFileSync(p, 'utf8')).toBe('keep')
  })

  it('the array create() returns is the file at the path: writes after it reach the file', () => {
    const p = join(dir, 'live.bin')
    const arr = MmapArray.create(p, { shape: 2, dtype: 'int32', fill: 4 })
    arr.set(1, 9)
    arr.flush()
    arr.close()
    expect([...new Int32Array(Uint8Array.from(readFileSync(p)).buffer)]).toEqual([4, 9])
  })

  it('create({ fill: -0 }) writes -0, as fill(-0) does', () => {
    const p = join(dir, 'minus-zero.bin')
    using arr = MmapArray.create(p, { shape: 2, dtype: 'float32', fill: -0 })
    expect(Object.is(arr.get(0), -0)).toBe(true)
    expect(readFileSync(p)[3]).toBe(0x80) // the sign bit of the first float32, little-endian
  })
})

describe('OS codes on the create and overwrite paths are the ones fs gives', () => {
  const dir = tempDir()

  it('a 250-byte file name (legal) can be created and overwritten: temporary names always fit', () => {
    const p = join(dir, 'n'.repeat(250))
    MmapArray.fromArray(p, [1, 2]).close()
    MmapArray.fromArray(p, [3], { overwrite: true }).close()
    saveNpy(p, Float64Array.of(4), { overwrite: true })
    expect(readdirSync(dir)).toEqual(['n'.repeat(250)])
  })

  it('a 300-byte file name gives the code fs gives (ENAMETOOLONG on POSIX), with or without overwrite', () => {
    const p = join(dir, 'n'.repeat(300))
    const fsCode = (thrown(() => writeFileSync(p, '', { flag: 'wx' })) as NodeJS.ErrnoException).code
    // Wine's fs says ENOENT here; Linux and macOS say ENAMETOOLONG.
    if (posixCheck('Windows reports an over-long name by another code')) expect(fsCode).toBe('ENAMETOOLONG')
    for (const overwrite of [false, true]) {
      const err = thrown(() => MmapArray.create(p, { shape: 1, overwrite }))
      expect(err.code).toBe(fsCode)
      expect(err.path).toBe(p)
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it.skipIf(WINDOWS)(
    posixTest('a path through a symlink loop is ELOOP, with or without overwrite', NOT_ON_WINDOWS.symlinks),
    () => {
      const loop = join(dir, 'loop')
      symlinkSync(loop, loop)
      const p = join(loop, 'f.bin')
      expect((thrown(() => writeFileSync(p, '')) as NodeJS.ErrnoException).code).toBe('ELOOP')
      for (const overwrite of [false, true]) {
        expect(thrown(() => saveBinary(p, Int8Array.of(1), { overwrite })).code).toBe('ELOOP')
      }
    },
  )

  it('a missing directory is ENOENT naming the path', () => {
    const p = join(dir, 'missing', 'f.bin')
    const err = thrown(() => MmapArray.create(p, { shape: 1, overwrite: true }))
    expect(err.code).toBe('ENOENT')
    expect(err.path).toBe(p)
  })
})

describe('a failing create leaves the file system as it found it (Linux: prlimit)', () => {
  const linux = process.platform === 'linux'
  const shm = (): string[] => readdirSync('/dev/shm').filter((n) => n.includes('memmap-limits-'))

  for (const [scenario, why] of [
    ['ENOMEM', 'address space limited below a 128 MiB map'],
    ['EMFILE', 'no file descriptor left'],
  ] as const) {
    // qemu-user reserves the emulated process's address space itself: a limit below 128 MiB of
    // it stops qemu (the child hangs: seen on the arm64 run), not the mmap under test.
    const underQemu = QEMU && scenario === 'ENOMEM'
    it.skipIf(!linux || underQemu)(
      `${scenario} (${why}): the error is ${scenario}, nothing is left, the original is intact${underQemu ? ' (skipped under qemu-user: an address-space limit stops the emulator itself)' : ''}`,
      async () => {
        const dir = tempDir()
        const r = await run('limits.mjs', [scenario, dir])
        expectCleanExit(r)
        expect(JSON.parse(r.stdout)).toEqual({ create: scenario, overwrite: scenario, shared: scenario })
        expect(readdirSync(dir)).toEqual(['original.bin'])
        expect(readFileSync(join(dir, 'original.bin'), 'utf8')).toBe('the original, which must survive')
        expect(shm()).toEqual([])
        expect(existsSync(join(dir, 'new.bin'))).toBe(false)
      },
    )
  }
})

describe('SharedMemoryArray.create is staged too', () => {
  it('a region appears complete or not at all, and an existing name is EEXIST', () => {
    using a = SharedMemoryArray.create({ shape: 4, dtype: 'int32' })
    const name = a.path.split(/[\\/]/).pop() as string
    expect(thrown(() => SharedMemoryArray.create({ shape: 4, name })).code).toBe('EEXIST')
    a.unlink()
  })
})
