// js/errors.ts: MmapError and its codes. Every ERR_MMAP_* code the sources can raise is
// documented and typed, and a failure inside the binding that is not the caller's still reaches
// users as an MmapError (issue #11, item 11). What fails inside the binding on purpose runs in a
// child process (fixtures/errors.mjs).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { describe, expect, it } from 'vitest'

import { DIST, fixture, tempDir } from './helpers'

const ROOT = resolve(__dirname, '..')
const dir = tempDir()

/** Every `ERR_MMAP_*` code in the sources: JS, the binding, and the Rust core. */
function codesInSources(): Set<string> {
  const codes = new Set<string>()
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) {
        if (name !== 'target' && name !== 'node_modules') walk(p)
      } else if (/\.(ts|rs)$/.test(name) && !name.endsWith('.d.ts')) {
        for (const c of readFileSync(p, 'utf8').match(/ERR_MMAP_[A-Z][A-Z_]*[A-Z]/g) ?? []) codes.add(c)
      }
    }
  }
  for (const d of ['js', 'src', 'crates']) walk(join(ROOT, d))
  return codes
}

describe('error codes (issue #11, item 11)', () => {
  it("every ERR_MMAP_* code in the sources is in the README's Errors table and in ErrorCode", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(
      readme.indexOf('### Errors\n'),
      readme.indexOf('\n### ', readme.indexOf('### Errors\n') + 1),
    )
    const documented = new Set([...section.matchAll(/^\| `(ERR_MMAP_[A-Z_]+)`/gm)].map((m) => m[1]))
    const typed = readFileSync(join(DIST, 'errors.d.ts'), 'utf8')
    const codes = codesInSources()
    expect(codes).toContain('ERR_MMAP_INTERNAL')
    for (const c of codes) {
      expect(documented, `${c} in the README's Errors table`).toContain(c)
      expect(typed, `${c} in ErrorCode`).toContain(`'${c}'`)
    }
  })

  it("a failure inside the binding that is not the caller's reaches users as MmapError ERR_MMAP_INTERNAL", () => {
    const p = join(dir, 'internal.bin')
    writeFileSync(p, new Uint8Array(64))
    expect(fixture('errors', 'internal', [p])).toEqual({
      foreign: [true, 'ERR_MMAP_INTERNAL', false],
      conversion: [true, 'ERR_MMAP_INTERNAL', true],
    })
  })
})
