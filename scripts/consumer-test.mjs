// The package as a user gets it: pack `memmap` and `memmap-linux-x64-gnu`, then install both
// tarballs into fresh projects with no cargo or rustc on PATH and run them: an ESM script, a
// CommonJS script, a TypeScript 5.2 file using `using`, a forked child that opens a
// SharedMemoryArray by path, and the bin. Run after `npm run build` (CI: .ci/run).
//
// It relies on nothing already in npm's cache: every npm command uses a private cache inside the
// temporary directory, which starts empty and is filled on purpose from the packed package's own
// `dependencies` (plus the TypeScript toolchain) by one online install. The consumer install is
// then `--offline` against that cache, so it proves that installing memmap compiles nothing and
// downloads nothing (no binary, no install script). `npm install --ignore-scripts` and pnpm
// (from npm, private store) are checked too.
import { execFileSync, spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const TS = '5.2.2'
const TYPES_NODE = '@types/node@20'
const PNPM = '10.34.9'
const started = Date.now()
const work = mkdtempSync(join(tmpdir(), 'memmap-consumer-'))
const cache = join(work, 'npm-cache')
const app = join(work, 'app')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
let failed = 0
let passed = 0

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
}
// Every npm command gets the private cache on its command line, which wins over npm_config_cache
// and any .npmrc.
function npmIn(cwd, args, env = process.env) {
  return sh(npm, [...args, '--cache', cache, '--no-audit', '--no-fund', '--no-update-notifier'], { cwd, env })
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
function project(dir) {
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }))
  return dir
}
const ESM_CHECK = `import { MmapArray, MmapError } from 'memmap'
const p = new URL('./esm.f64', import.meta.url)
const a = MmapArray.create(p, { shape: [1000], overwrite: true })
for (let i = 0; i < 1000; i++) a.set(i, i)
a.flush(); a.close()
const b = MmapArray.open(p, { mode: 'r' })
if (b.sum() !== 499500) throw new Error('sum ' + b.sum())
b.close()
try { b.sum() } catch (e) { if (!(e instanceof MmapError) || e.code !== 'ERR_MMAP_CLOSED') throw e }
console.log('esm ok')
`
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall']

try {
  // 1. Tarballs. The platform package gets the .node built for this machine. `--ignore-scripts`:
  // packing must not run `prepare` (a full build from source).
  const platformDir = join(root, 'npm', 'linux-x64-gnu')
  const node = readdirSync(join(root, 'js')).find((f) => f.endsWith('.linux-x64-gnu.node'))
  if (!node) throw new Error('js/memmap.linux-x64-gnu.node is missing: run npm run build first')
  let platformTgz
  copyFileSync(join(root, 'js', node), join(platformDir, node))
  try {
    platformTgz = join(
      work,
      npmIn(platformDir, ['pack', '--silent', '--ignore-scripts', '--pack-destination', work]).trim(),
    )
  } finally {
    rmSync(join(platformDir, node))
  }
  const mainTgz = join(work, npmIn(root, ['pack', '--silent', '--ignore-scripts', '--pack-destination', work]).trim())
  const listing = sh('tar', ['-tzf', mainTgz])
  const manifest = JSON.parse(sh('tar', ['-xzOf', mainTgz, 'package/package.json']))
  check('the main tarball holds no tests, Rust sources, native binaries or scripts/', () => {
    for (const bad of ['__test__/', 'crates/', 'src/lib.rs', '.node', 'Cargo.toml', 'benches/', 'scripts/']) {
      if (listing.includes(bad)) throw new Error(`tarball contains ${bad}`)
    }
  })
  check('neither packed package.json declares an install script', () => {
    const platform = JSON.parse(sh('tar', ['-xzOf', platformTgz, 'package/package.json']))
    for (const m of [manifest, platform]) {
      const found = INSTALL_SCRIPTS.filter((s) => m.scripts?.[s])
      if (found.length) throw new Error(`${m.name} has ${found.join(', ')}`)
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

  // 2. The only online step: fill the private cache with what the consumer install will need
  // besides the two tarballs, read from the packed package.json, not from a list kept here.
  const deps = Object.entries(manifest.dependencies ?? {}).map(([name, range]) => `${name}@${range}`)
  const toolchain = [`typescript@${TS}`, TYPES_NODE]
  npmIn(project(join(work, 'warm')), ['install', '--ignore-scripts', ...deps, ...toolchain])

  const hasRust = (dir) => ['cargo', 'rustc'].some((bin) => existsSync(join(dir, bin)))
  const PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => dir && !hasRust(dir))
    .join(':')
  const env = { ...process.env, PATH, CARGO: '/nonexistent', RUSTC: '/nonexistent' }
  check('no cargo or rustc on the consumer PATH', () => {
    for (const bin of ['cargo', 'rustc']) {
      if (spawnSync(bin, ['--version'], { env }).status === 0) throw new Error(`${bin} is reachable`)
    }
  })
  project(app)
  check('npm install --offline of the two tarballs: nothing compiled, nothing downloaded', () => {
    npmIn(app, ['install', '--offline', mainTgz, platformTgz, ...toolchain], env)
  })
  check('nothing in the installed tree has an install script', () => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'))
    const scripted = Object.keys(lock.packages).filter((p) => lock.packages[p].hasInstallScript)
    if (scripted.length) throw new Error(`install scripts in: ${scripted.join(', ')}`)
  })

  const run = (file, args = []) => sh(process.execPath, [file, ...args], { cwd: app, env })
  writeFileSync(join(app, 'esm.mjs'), ESM_CHECK)
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
  arr.array.fill(1) // types follow the dtype: .array is a Float32Array here, not the union
  const view: Float32Array = arr.array
  arr.fill(2)
  const dtype: DType = arr.dtype
  const sum: number = arr.sum()
  if (sum !== 32 || dtype !== 'float32' || view[0] !== 2) throw new Error('sum')
  using big = MmapArray.create('using.i8', { shape: 2, dtype: '<i8', overwrite: true })
  const first: bigint = big.get(0)
  if (first !== 0n) throw new Error('int64')
  // float16: the .d.ts names Float16Array only through globalThis, so TS 5.2 (no such type) sees Uint16Array
  using half = MmapArray.create('using.f2', { shape: 3, dtype: 'f2', overwrite: true })
  half.set(0, 0.1)
  const h: number = half.get(0)
  const halfView: Uint16Array = half.array
  if (h !== 0.0999755859375 || half.dtype !== 'float16' || halfView.length !== 3) throw new Error('float16')
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
  check(`TypeScript ${TS} (strict) compiles \`using\` and dtype-typed arrays against the .d.ts`, () => {
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

  // 3. The same tarballs with install scripts refused, as security-minded users and some CI do.
  const noScripts = project(join(work, 'ignore-scripts'))
  check('npm install --ignore-scripts --offline: the package loads and runs', () => {
    npmIn(noScripts, ['install', '--ignore-scripts', '--offline', mainTgz, platformTgz], env)
    writeFileSync(join(noScripts, 'esm.mjs'), ESM_CHECK)
    if (!sh(process.execPath, ['esm.mjs'], { cwd: noScripts, env }).includes('esm ok')) throw new Error('no output')
  })

  // 4. pnpm: a symlinked, non-flat node_modules. pnpm itself comes from npm into the temporary
  // directory; its store, cache and state are private there too. Its install fetches cli-progress
  // from the registry (pnpm does not read npm's cache); what it must not do is need a compiler.
  const pnpmDir = join(work, 'pnpm')
  const pnpmEnv = {
    ...env,
    XDG_CACHE_HOME: join(pnpmDir, 'cache'),
    XDG_CONFIG_HOME: join(pnpmDir, 'config'),
    XDG_DATA_HOME: join(pnpmDir, 'data'),
    XDG_STATE_HOME: join(pnpmDir, 'state'),
  }
  const pnpmApp = project(join(work, 'pnpm-app'))
  check(`pnpm ${PNPM}: install of the two tarballs (private store, no cargo or rustc), ESM runs`, () => {
    mkdirSync(pnpmDir)
    npmIn(pnpmDir, ['install', '--prefix', pnpmDir, '--ignore-scripts', `pnpm@${PNPM}`])
    const pnpm = join(pnpmDir, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs')
    const store = ['--store-dir', join(pnpmDir, 'store'), '--config.confirm-modules-purge=false']
    sh(process.execPath, [pnpm, 'add', mainTgz, platformTgz, ...store], { cwd: pnpmApp, env: pnpmEnv })
    writeFileSync(join(pnpmApp, 'esm.mjs'), ESM_CHECK)
    if (!sh(process.execPath, ['esm.mjs'], { cwd: pnpmApp, env }).includes('esm ok')) throw new Error('no output')
  })
} catch (err) {
  failed++
  console.log(`FAIL setup\n${err.stdout ?? ''}${err.stderr ?? ''}${err.message}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
console.log(`consumer: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(0)} s)`)
process.exit(failed ? 1 : 0)
