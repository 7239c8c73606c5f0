// "Types follow the dtype" (API.md, issue #12): __test__/types/dtype-types.ts states the types
// that MmapArray, SharedMemoryArray, fromArray, loadBinary, openNpy and createSharedBuffer must
// have; here it is compiled with `tsc --strict` against the built declarations (dist/). A wrong
// type, or an expected error that no longer happens (@ts-expect-error), fails the compile.
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'

import { expect, it } from 'vitest'

const ROOT = resolve(__dirname, '..')

it('dtype literals, numpy spellings and constructors fix the array types under tsc --strict', () => {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const r = spawnSync(process.execPath, [tsc, '-p', join(__dirname, 'types', 'tsconfig.json')], {
    encoding: 'utf8',
    timeout: 300_000,
  })
  expect(r.stdout + r.stderr).toBe('')
  expect(r.status).toBe(0)
}, 300_000)
