// js/npy.ts: openNpy and saveNpy (the header itself: npy-header.test.ts; against the real
// numpy: numpy.test.ts). The CLI reads .npy files through openNpy, so the check that it reports
// the same errors is here (issue #11, item 11).
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { MmapError, openNpy, saveNpy } from '../dist/index.mjs'
import { DIST, tempDir, thrown } from './helpers'

const dir = tempDir()
let n = 0

describe('.npy without numpy', () => {
  it('round-trips through saveNpy and openNpy, and maps it writable', () => {
    const p = join(dir, 'rt.npy')
    saveNpy(p, Int32Array.from([1, 2, 3, 4, 5, 6]), { shape: [2, 3] })
    {
      using a = openNpy(p, { mode: 'r+' })
      expect([a.dtype, ...a.shape]).toEqual(['int32', 2, 3])
      a.set(1, 2, 60)
      a.flush()
    }
    const b = openNpy(p)
    expect(b.get(1, 2)).toBe(60)
    expect(thrown(() => saveNpy(p, new Float64Array(1))).code).toBe('EEXIST')
    b.close() // Windows cannot replace a file that is still mapped (mmap-file.test.ts tests that)
    saveNpy(p, new Float64Array(1), { overwrite: true })
    using c = openNpy(p)
    expect([c.dtype, ...c.shape]).toEqual(['float64', 1])
  })

  it('a truncated data section is ERR_MMAP_SIZE_MISMATCH; garbage is ERR_MMAP_FORMAT; missing is ENOENT', () => {
    const p = join(dir, 'short.npy')
    saveNpy(p, new Float64Array(10))
    writeFileSync(p, readFileSync(p).subarray(0, 128 + 40))
    expect(thrown(() => openNpy(p))).toMatchObject({ code: 'ERR_MMAP_SIZE_MISMATCH', path: p })
    const g = join(dir, 'garbage.npy')
    writeFileSync(g, 'not a numpy file at all')
    expect(thrown(() => openNpy(g))).toMatchObject({ code: 'ERR_MMAP_FORMAT', path: g })
    writeFileSync(join(dir, 'zero.npy'), '')
    expect(thrown(() => openNpy(join(dir, 'zero.npy'))).code).toBe('ERR_MMAP_FORMAT')
    expect(thrown(() => openNpy(join(dir, 'nope.npy')))).toMatchObject({ code: 'ENOENT' })
    expect(thrown(() => openNpy(dir))).toMatchObject({ code: 'EISDIR' })
  })

  it('shape must match the data', () => {
    expect(thrown(() => saveNpy(join(dir, 'bad.npy'), new Float64Array(6), { shape: [4] })).code).toBe(
      'ERR_MMAP_INVALID_ARG',
    )
  })
})

/** A .npy file, version 1.0, with `descr` and `shape` as given and `data` after the header. */
function npy(descr: string, shape: string, data: Uint8Array): string {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`
  const text = new TextEncoder().encode(dict.padEnd(117) + '\n')
  const out = new Uint8Array(10 + text.length + data.length)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
  new DataView(out.buffer).setUint16(8, text.length, true)
  out.set(text, 10)
  out.set(data, 10 + text.length)
  const p = join(dir, `f${n++}.npy`)
  writeFileSync(p, out)
  return p
}

describe('CLI and openNpy agree (issue #11, item 11)', () => {
  const CLI = join(DIST, 'cli.js')
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8' })
    return { status: r.status, code: r.stdout ? JSON.parse(r.stdout).error?.code : undefined, stderr: r.stderr }
  }

  it('memmap info, head and stats of a big-endian or unsupported .npy give ERR_MMAP_FORMAT, as openNpy does', () => {
    for (const [descr, data] of [
      ['>f8', new Uint8Array(16)],
      ['>i4', new Uint8Array(8)],
      ['<c16', new Uint8Array(32)],
      ['|O', new Uint8Array(16)],
    ] as const) {
      const p = npy(descr, '(2,)', data)
      const e = thrown(() => openNpy(p))
      expect(e, descr).toBeInstanceOf(MmapError)
      expect(e.code, descr).toBe('ERR_MMAP_FORMAT')
      for (const command of ['info', 'head', 'stats']) {
        const r = cli(command, p)
        expect([r.status, r.code], `${command} ${descr}: ${r.stderr}`).toEqual([1, 'ERR_MMAP_FORMAT'])
      }
    }
  })

  it('memmap info of a good .npy reports what openNpy maps', () => {
    const p = npy('<i2', '(2, 3)', new Uint8Array(12))
    const r = spawnSync(process.execPath, [CLI, 'info', p, '--json'], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    using a = openNpy(p)
    expect(JSON.parse(r.stdout)).toMatchObject({
      format: 'npy 1.0',
      dtype: a.dtype,
      shape: [...a.shape],
      dataOffset: 128,
    })
  })
})
