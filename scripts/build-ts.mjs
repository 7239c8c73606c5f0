// Compiles js/ to dist/ (CommonJS + .d.ts), copies the native loader and any locally built
// .node beside it, and writes the ESM entry: a thin re-export of the CommonJS build, so that
// `import` and `require` share one set of classes (instanceof works across both).
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const js = join(root, 'js')

rmSync(dist, { recursive: true, force: true })
mkdirSync(dist)
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' })

for (const name of readdirSync(js)) {
  if (name === 'binding.cjs' || name === 'binding.d.cts' || name.endsWith('.node')) {
    copyFileSync(join(js, name), join(dist, name))
  }
}

const names = Object.keys(createRequire(import.meta.url)(join(dist, 'index.js'))).filter((n) => n !== 'default')
const mjs = ["import cjs from './index.js'", '', ...names.map((n) => `export const ${n} = cjs.${n}`), ''].join('\n')
writeFileSync(join(dist, 'index.mjs'), mjs)
writeFileSync(join(dist, 'index.d.mts'), "export * from './index.js'\n")
console.log(`dist/: ${names.length} exports (${names.join(', ')})`)
