// npm runs `prepare` on `npm install` and `npm ci` in a checkout of this repository, never when a
// consumer installs the published package, so only developers build from source here: the
// native addon (cargo rebuilds only what changed) and the TypeScript. MEMMAP_SKIP_BUILD=1 skips
// it (CI jobs that build a cross target or test a downloaded binary).
'use strict'
const { execSync } = require('node:child_process')
const { join } = require('node:path')

if (process.env.MEMMAP_SKIP_BUILD) process.exit(0)
try {
  execSync('cargo --version', { stdio: 'ignore' })
} catch {
  console.error('memmap: building from source needs Rust (cargo): https://rustup.rs, or set MEMMAP_SKIP_BUILD=1')
  process.exit(1)
}
execSync('npm run build', { cwd: join(__dirname, '..'), stdio: 'inherit' })
