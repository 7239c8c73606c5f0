// Runs vitest, then checks that the suite left no shared-memory region behind (issue #4):
// names in /dev/shm starting with "memmap-" that were not there before fail the run.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { createRequire } from 'node:module'

const DIR = '/dev/shm'
const regions = () => {
  try {
    return new Set(readdirSync(DIR).filter((n) => n.startsWith('memmap-')))
  } catch {
    return new Set()
  }
}

const before = regions()
const vitest = createRequire(import.meta.url).resolve('vitest/vitest.mjs')
const run = spawnSync(process.execPath, [vitest, 'run', ...process.argv.slice(2)], { stdio: 'inherit' })
const left = [...regions()].filter((n) => !before.has(n))
if (left.length > 0) {
  console.error(`FAIL: the test suite left ${left.length} shared-memory region(s) in ${DIR}: ${left.join(', ')}`)
  process.exit(1)
}
process.exit(run.status ?? 1)
