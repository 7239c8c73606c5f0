// Type checks under `tsc --strict`, each a test:
// - "Types follow the dtype" (API.md, issue #12): __test__/types/dtype-types.ts states the types
//   that MmapArray, SharedMemoryArray, fromArray, loadBinary, openNpy and createSharedBuffer must
//   have; it is compiled against the built declarations (dist/). A wrong type, or an expected
//   error that no longer happens (@ts-expect-error), fails the compile. float16-types.ts does the
//   same for float16 with the ESNext.Float16 lib, where the Float16Array type exists.
// - The fixtures (__test__/fixtures/, the code the tests run in child processes) are JavaScript
//   that Node 20 runs as is; __test__/fixtures/tsconfig.json checks them as TypeScript (checkJs,
//   JSDoc types) against the same declarations.
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'

import { expect, it } from 'vitest'

const ROOT = resolve(__dirname, '..')

/** tsc -p `project`: nothing printed and exit 0, or the test fails with what tsc said. */
function typeChecks(project: string): void {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const r = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', timeout: 300_000 })
  expect(r.stdout + r.stderr).toBe('')
  expect(r.status).toBe(0)
}

it('dtype literals, numpy spellings and constructors fix the array types under tsc --strict', () => {
  typeChecks(join(__dirname, 'types', 'tsconfig.json'))
}, 300_000)

it('float16 arrays are Float16Array | Uint16Array where the libs declare Float16Array (ESNext.Float16)', () => {
  typeChecks(join(__dirname, 'types', 'tsconfig.float16.json'))
}, 300_000)

it('the fixtures (the code child processes run) type-check under tsc --strict with checkJs', () => {
  typeChecks(join(__dirname, 'fixtures', 'tsconfig.json'))
}, 300_000)
