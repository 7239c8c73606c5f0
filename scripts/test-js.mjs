// Runs vitest, prints a plain 'N passed, N failed' line, then checks that the suite left no shared-memory region behind (issue #4):
// names in /dev/shm starting with "memmap-" that were not there before fail the run.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const DIR = '/dev/shm'
const regions = () => {
  try {
    return new Set(readdirSync(DIR).filter((n) => n.startsWith('memmap-')))
  } catch {
    return new Set()
  }
}

const before = regions()
const vitest = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'vitest', 'vitest.mjs')
const out = mkdtempSync(join(tmpdir(), 'memmap-vitest-'))
const report = join(out, 'report.json')
const run = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
)
try {
  const r = JSON.parse(readFileSync(report, 'utf8'))
  // One plain closing line that any CI log reader understands.
  console.log(
    `vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`,
  )
} catch {
  console.log('vitest: no report written')
} finally {
  rmSync(out, { recursive: true, force: true })
}
const left = [...regions()].filter((n) => !before.has(n))
if (left.length > 0) {
  console.error(`FAIL: the test suite left ${left.length} shared-memory region(s) in ${DIR}: ${left.join(', ')}`)
  process.exit(1)
}
process.exit(run.status ?? 1)
