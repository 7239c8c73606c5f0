// js/shared.ts against Python's multiprocessing.shared_memory (with numpy): a region Python made
// opens by its bare name, one of ours opens in Python by basename(path), and writes on either
// side are seen on the other. Python's side: __test__/fixtures/python-shm.py.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { basename, join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { SharedMemoryArray } from '../dist/index.mjs'
import { thrown, WINE } from './helpers'

const probe =
  WINE || process.platform === 'darwin'
    ? undefined
    : spawnSync('python3', ['-c', 'import numpy, multiprocessing.shared_memory'], { encoding: 'utf8' })
const PYTHON = probe?.status === 0
if (!PYTHON) {
  const why = WINE
    ? 'there is no Windows Python under Wine here (these tests run on Linux)'
    : process.platform === 'darwin'
      ? "macOS: Python's regions are POSIX shm objects with no path, memmap's are files (README)"
      : 'python3 with numpy is not installed (python3 -m pip install numpy)'
  // CI installs numpy (.ci/run): there a missing Python is a failure, not a skip.
  if (process.env.CI && !WINE) throw new Error(`Python shared-memory interop tests cannot run in CI: ${why}`)
  console.warn(`SKIPPING Python shared-memory interop tests: ${why}`)
}

const FIXTURE = join(__dirname, 'fixtures', 'python-shm.py')
function py(...args: string[]): string {
  const r = spawnSync('python3', [FIXTURE, ...args], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`python3 ${args.join(' ')} failed:\n${r.stderr}`)
  expect(r.stderr, 'Python warned (a leaked or unlinked segment?)').toBe('')
  return r.stdout
}
const N = 1000
const range = (n: number, k = 1): number[] => Array.from({ length: n }, (_, i) => i * k)

describe.skipIf(!PYTHON)("Python's multiprocessing.shared_memory", () => {
  it('a region Python created opens by its bare name; writes are seen both ways', () => {
    const name = `psm_memmap_${randomBytes(6).toString('hex')}`
    const made = JSON.parse(py('create', name, String(N))) as { name: string }
    expect(made.name).toBe(name)
    try {
      using a = SharedMemoryArray.open(name, { dtype: 'float64' })
      expect(a.size).toBe(N)
      expect(Array.from(a.array)).toEqual(range(N))
      a.set(7, -1.5)
      py('write', name, String(N))
      expect(a.get(7)).toBe(-3)
      expect(a.get(N - 1)).toBe(2 * (N - 1))
      const seen = JSON.parse(py('read', name, String(N))) as number[]
      expect(seen[7]).toBe(-3)
    } finally {
      py('unlink', name)
    }
    expect(thrown(() => SharedMemoryArray.open(name)).code).toBe('ENOENT')
  })

  it('a region of ours opens in Python by basename(path); Python leaves it in place when it exits', () => {
    using a = SharedMemoryArray.create({ shape: [N], dtype: 'float64' })
    a.array.set(range(N, 0.5))
    const name = basename(a.path)
    expect(JSON.parse(py('read', name, String(N)))).toEqual(range(N, 0.5))
    py('write', name, String(N))
    expect(Array.from(a.array)).toEqual(range(N))
    // Python attached and exited twice: the region is still there and still ours to unlink.
    using again = SharedMemoryArray.open(name, { dtype: 'float64' })
    expect(again.get(N - 1)).toBe(N - 1)
    again.close()
    a.unlink()
  })

  it('a bare name is never looked up in the working directory', () => {
    const name = `memmap-not-a-region-${randomBytes(6).toString('hex')}`
    expect(thrown(() => SharedMemoryArray.open(name)).path).not.toBe(join(process.cwd(), name))
  })
})

describe('SharedMemoryArray.open by bare name', () => {
  it("opens the region created under that name (every platform's namespace: /dev/shm, Local\\, the temporary directory)", () => {
    const name = `memmap-bare-${randomBytes(6).toString('hex')}`
    using a = SharedMemoryArray.create({ name, shape: [4], dtype: 'int32' })
    expect(basename(a.path.replaceAll('\\', '/'))).toBe(name)
    a.set(2, 42)
    using b = SharedMemoryArray.open(name, { dtype: 'int32' })
    expect(b.path).toBe(a.path)
    expect(b.get(2)).toBe(42)
    b.set(3, 7)
    expect(a.get(3)).toBe(7)
    b.close()
    a.unlink()
  })
})
