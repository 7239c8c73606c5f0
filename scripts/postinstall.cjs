// After `npm install`:
// - in a checkout of this repository (the Rust sources are here), build the native addon and
//   the TypeScript from source: cargo rebuilds only what changed;
// - as an installed dependency, check that a prebuilt binary for this platform loads, and say
//   clearly what is missing if not. It never downloads anything.
'use strict'
const { execSync } = require('node:child_process')
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const root = join(__dirname, '..')

if (existsSync(join(root, 'crates')) && existsSync(join(root, 'Cargo.toml'))) {
  if (process.env.MEMMAP_SKIP_BUILD) process.exit(0)
  try {
    execSync('cargo --version', { stdio: 'ignore' })
  } catch {
    console.error('memmap: building from source needs Rust (cargo); install it from https://rustup.rs')
    process.exit(1)
  }
  execSync('npm run build', { cwd: root, stdio: 'inherit' })
} else {
  try {
    require(join(root, 'dist', 'index.js'))
  } catch (err) {
    console.warn(
      `memmap: the native addon did not load on ${process.platform}-${process.arch}: ${err && err.message}\n` +
        'memmap: install the platform package (npm install memmap-<platform>) or build from a checkout of the repository.',
    )
  }
}
