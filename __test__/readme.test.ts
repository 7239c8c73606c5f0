// The README's examples marked <!-- readme-test --> run as written (TypeScript, `using` included),
// in a scratch directory holding the files they read.
import { spawnSync } from 'node:child_process'
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import ts from 'typescript'
import { expect, it } from 'vitest'

import { importable, tempDir } from './helpers'

const README = readFileSync(resolve(__dirname, '..', 'README.md'), 'utf8')
const ENTRY = resolve(__dirname, '..', 'dist', 'index.mjs')
const blocks = [...README.matchAll(/<!-- readme-test[^>]*-->\s*```ts\n([\s\S]*?)```/g)].map((m) => m[1])

it('finds the marked examples', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2)
})

it.each(blocks.map((code, i) => [i, code]))('README example %i runs', (i, code) => {
  const dir = tempDir()
  writeFileSync(join(dir, 'weights.bin'), '')
  truncateSync(join(dir, 'weights.bin'), 128 + 4096 * 1024 * 4)
  writeFileSync(join(dir, 'data.bin'), new Uint8Array(8192))
  const source = code.includes("from 'memmap'")
    ? code
    : `import * as memmap from 'memmap'\nconst { mmapFile, MmapArray } = memmap\n${code}`
  const js = ts.transpileModule(source.replaceAll("from 'memmap'", `from ${JSON.stringify(importable(ENTRY))}`), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText
  const file = join(dir, `example${i}.mjs`)
  writeFileSync(file, `${js}\nconsole.log('example ran')\n`)
  const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' })
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
  expect(r.stdout).toContain('example ran')
})
