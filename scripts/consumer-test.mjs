// The package as a user gets it: pack `memmap` and `memmap-linux-x64-gnu`, install both tarballs
// into a fresh project offline, with no cargo or rustc on PATH, then run an ESM script, a
// CommonJS script, a TypeScript 5.2 file using `using`, and a forked child that opens a
// SharedMemoryArray by path. Run after `npm run build` (CI: .ci/run).
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const TS = '5.2.2'
const work = mkdtempSync(join(tmpdir(), 'memmap-consumer-'))
const app = join(work, 'app')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
let failed = 0
let passed = 0

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
}
function check(name, fn) {
  try {
    fn()
    passed++
    console.log(`ok   ${name}`)
  } catch (err) {
    failed++
    console.log(`FAIL ${name}\n${err.stdout ?? ''}${err.stderr ?? ''}${err.message}`)
  }
}

try {
  // 1. Tarballs. The platform package gets the .node built for this machine.
  const platformDir = join(root, 'npm', 'linux-x64-gnu')
  const node = readdirSync(join(root, 'js')).find((f) => f.endsWith('.linux-x64-gnu.node'))
  if (!node) throw new Error('js/memmap.linux-x64-gnu.node is missing: run npm run build first')
  copyFileSync(join(root, 'js', node), join(platformDir, node))
  const platformTgz = join(work, sh(npm, ['pack', '--silent', '--pack-destination', work], { cwd: platformDir }).trim())
  rmSync(join(platformDir, node))
  const mainTgz = join(
    work,
    sh(npm, ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: root }).trim(),
  )
  const listing = sh('tar', ['-tzf', mainTgz])
  check('the main tarball holds no tests, Rust sources or native binaries', () => {
    for (const bad of ['__test__/', 'crates/', 'src/lib.rs', '.node', 'Cargo.toml', 'benches/']) {
      if (listing.includes(bad)) throw new Error(`tarball contains ${bad}`)
    }
  })

  check('@arethetypeswrong: one set of types resolves for require, import, node10 and bundlers', () => {
    sh(process.execPath, [
      join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'),
      mainTgz,
      '--format',
      'ascii',
    ])
  })

  // 2. Dependencies that are not ours come from npm's cache, so the install itself is offline.
  sh(npm, ['cache', 'add', `typescript@${TS}`, '@types/node@20', 'cli-progress@3.12.0'])
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }))
  const hasRust = (dir) => ['cargo', 'rustc'].some((bin) => existsSync(join(dir, bin)))
  const PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => dir && !hasRust(dir))
    .join(':')
  const env = { ...process.env, PATH, CARGO: '/nonexistent', RUSTC: '/nonexistent' }
  check('no cargo or rustc on the consumer PATH', () => {
    if (spawnSync('cargo', ['--version'], { env }).status === 0) throw new Error('cargo is reachable')
  })
  check('npm install --offline of the two tarballs', () => {
    sh(
      npm,
      ['install', '--offline', '--no-audit', '--no-fund', mainTgz, platformTgz, `typescript@${TS}`, '@types/node@20'],
      {
        cwd: app,
        env,
      },
    )
  })

  const run = (file, args = []) => sh(process.execPath, [file, ...args], { cwd: app, env })
  writeFileSync(
    join(app, 'esm.mjs'),
    `import { MmapArray, MmapError } from 'memmap'
const p = new URL('./esm.f64', import.meta.url)
const a = MmapArray.create(p, { shape: [1000], overwrite: true })
for (let i = 0; i < 1000; i++) a.set(i, i)
a.flush(); a.close()
const b = MmapArray.open(p, { mode: 'r' })
if (b.sum() !== 499500) throw new Error('sum ' + b.sum())
b.close()
try { b.sum() } catch (e) { if (!(e instanceof MmapError) || e.code !== 'ERR_MMAP_CLOSED') throw e }
console.log('esm ok')
`,
  )
  check('ESM: create, write, reopen, sum', () => {
    if (!run('esm.mjs').includes('esm ok')) throw new Error('no output')
  })
  writeFileSync(
    join(app, 'cjs.cjs'),
    `const { MmapArray, saveNpy, openNpy } = require('memmap')
const path = require('node:path')
const p = path.join(__dirname, 'cjs.npy')
saveNpy(p, Float32Array.from([1, 2, 3, 4]), { shape: [2, 2], overwrite: true })
const a = openNpy(p)
if (a.sum() !== 10 || a.get(1, 1) !== 4 || !(a instanceof MmapArray)) throw new Error('bad')
a.close()
console.log('cjs ok')
`,
  )
  check('CommonJS: saveNpy, openNpy, sum, instanceof', () => {
    if (!run('cjs.cjs').includes('cjs ok')) throw new Error('no output')
  })
  check('ESM and CommonJS share one set of classes', () => {
    writeFileSync(
      join(app, 'dual.mjs'),
      `import { createRequire } from 'node:module'\nimport * as esm from 'memmap'\nconst cjs = createRequire(import.meta.url)('memmap')\nif (esm.MmapArray !== cjs.MmapArray) throw new Error('two copies')\nconsole.log('dual ok')\n`,
    )
    run('dual.mjs')
  })

  writeFileSync(
    join(app, 'using.ts'),
    `import { MmapArray, SharedMemoryArray, type DType } from 'memmap'
import { fork } from 'node:child_process'

let escaped: MmapArray
{
  using arr = MmapArray.create('using.f32', { shape: [4, 4], dtype: 'float32', overwrite: true })
  arr.fill(2)
  const dtype: DType = arr.dtype
  if (arr.sum() !== 32 || dtype !== 'float32') throw new Error('sum')
  escaped = arr
}
if (!escaped.closed) throw new Error('using did not close the array')

const shared = SharedMemoryArray.create({ shape: [8], dtype: "int32" }) // a module-level using would close it before the child runs
const child = fork('child.cjs', [shared.path, shared.dtype])
child.on('exit', (code) => {
  if (code !== 0 || shared.get(7) !== 7) throw new Error('child wrote nothing')
  shared.unlink()
  console.log('ts ok')
})
`,
  )
  writeFileSync(
    join(app, 'child.cjs'),
    `const { SharedMemoryArray } = require('memmap')
const [path, dtype] = process.argv.slice(2)
const a = SharedMemoryArray.open(path, { dtype })
for (let i = 0; i < a.size; i++) a.set(i, i)
a.close()
`,
  )
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'Node16',
        moduleResolution: 'Node16',
        lib: ['ES2022', 'ESNext.Disposable'],
        strict: true,
        types: ['node'],
        outDir: 'out',
      },
      files: ['using.ts'],
    }),
  )
  check(`TypeScript ${TS} (strict) compiles \`using\` against the .d.ts`, () => {
    const version = sh(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '--version'], {
      cwd: app,
    })
    if (!version.includes(TS)) throw new Error(version)
    sh(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app, env })
  })
  check('the compiled file runs: `using` closes; a forked child writes a SharedMemoryArray by path', () => {
    if (!run(join('out', 'using.js')).includes('ts ok')) throw new Error('no output')
  })
  check('the memmap bin runs', () => {
    const out = sh(join(app, 'node_modules', '.bin', 'memmap'), ['info', 'cjs.npy', '--json'], { cwd: app, env })
    if (JSON.parse(out).dtype !== 'float32') throw new Error(out)
  })
} catch (err) {
  failed++
  console.log(`FAIL setup\n${err.stdout ?? ''}${err.stderr ?? ''}${err.message}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
console.log(`consumer: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
