// The README's examples marked <!-- readme-test --> run as written (TypeScript, `using` included),
// in a scratch directory holding the files they read.
import { spawnSync } from 'node:child_process'
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import ts from 'typescript'
import { expect, it } from 'vitest'

import { importable, tempDir } from './helpers'

const README = readFileSync(resolve(__dirname, '..', 'README.md'), 'utf8')
const ENTRY = resolve(__dirname, '..', 'dist', 'index.mjs')
const blocks = [
  ...README.matchAll(/<!-- readme-test[^>]*-->(?:<!-- readme-types[^>]*-->)?\s*```ts\n([\s\S]*?)```/g),
].map((m) => m[1])

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

// Every TypeScript block of the README compiles under `strict` against the built declarations
// (issue #12: the Quick start's `arr.array.fill(1)` once did not). A block's free names (a
// worker's arguments, a frame) are declared in a `<!-- readme-types: ... -->` comment before it.
it('every TypeScript block in the README type-checks under tsc --strict', () => {
  const typed = [...README.matchAll(/(?:<!-- readme-types: ([^>]*?) -->)?\s*```ts\n([\s\S]*?)```/g)]
  expect(typed.length).toBeGreaterThanOrEqual(4)
  const dir = tempDir()
  const files = typed.map(([, prelude, code], i) => {
    const file = join(dir, `readme${i}.mts`)
    writeFileSync(file, `${prelude ?? ''}\n${code}\nexport {}\n`)
    return file
  })
  const root = resolve(__dirname, '..')
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022', 'ESNext.Disposable'],
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
        paths: { memmap: [join(root, 'dist', 'index.d.mts')] },
      },
      files,
    }),
  )
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: tmpdir() })
  expect(r.stdout + r.stderr).toBe('')
  expect(r.status).toBe(0)
}, 300_000)
