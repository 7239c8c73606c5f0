// Fuzzing openSafetensors (issue #14 item 3): mutated headers (bit flips, inserted and deleted
// bytes, truncation, the length field, numbers rewritten, JSON-aware changes to offsets, shapes,
// dtypes and metadata) opened in a child process (fixtures/safetensors-fuzz.mjs), so that a crash
// fails the test. Every rejection must be an MmapError ERR_MMAP_FORMAT (ERR_MMAP_ALIGNMENT for a
// misaligned tensor()), and every tensor handed out must hold the file's bytes.
//
// MEMMAP_FUZZ=<n> runs n mutations instead of the default 3,000 (500 under Wine) (the long mode:
// MEMMAP_FUZZ=100000); MEMMAP_FUZZ_SEED=<n> changes the seed (default 14).
//
// The differential check: for the first 400 files (5,000 in the long mode), one Python process opens each with the
// reference reader (safetensors.safe_open, framework="numpy") and reports its verdict, tensors
// (dtype, shape, sha256 of the bytes) and metadata. Every file we accept, Python must accept with
// the same tensors, except for the two documented ways we are looser: a dtype the reference does
// not know, and an empty tensor whose range lies elsewhere than the reference requires.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { outcomeOf, pythonModules, runFixture, tempDir, WINE } from './helpers'

const COUNT = Number(process.env.MEMMAP_FUZZ ?? (WINE ? 500 : 3000))
const SEED = Number(process.env.MEMMAP_FUZZ_SEED ?? 14)
const KEEP = COUNT > 3000 ? 5000 : 400
const dir = tempDir()

const SAFETENSORS = pythonModules(['safetensors', 'ml_dtypes'], 'the safetensors differential check')?.[0]

/** The reference's dtypes (safetensors 0.8.0). */
const REFERENCE_DTYPES = new Set(
  'BOOL F4 F6_E2M3 F6_E3M2 U8 I8 F8_E5M2 F8_E4M3 F8_E8M0 F8_E4M3FNUZ F8_E5M2FNUZ I16 U16 F16 BF16 I32 U32 F32 C64 F64 I64 U64'.split(
    ' ',
  ),
)

interface Tensor {
  name: string
  dtype: string
  shape: number[]
  sha?: string
  error?: string
}
interface Ours {
  file: string
  how: string
  accepted: boolean
  tensors?: Tensor[]
  metadata?: Record<string, string>
}
interface Theirs {
  accepted: boolean
  error?: string
  tensors?: Record<string, { dtype: string; shape: number[]; sha: string }>
  metadata?: Record<string, string> | null
}

/** The reference's rule for the layout, which is stricter than ours only for empty tensors. */
function referenceLayoutHolds(file: string): boolean {
  const bytes = readFileSync(file)
  const n = Number(bytes.readBigUInt64LE(0))
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: number[] }>
  const ranges = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([, v]) => v.data_offsets)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let at = 0
  for (const [b, e] of ranges) {
    if (b !== at) return false
    at = e
  }
  return true
}

describe('openSafetensors fuzzing', () => {
  let ours: Ours[] = []

  it(`${COUNT} mutated headers: no crash, every rejection ERR_MMAP_FORMAT, every view the file's bytes`, () => {
    const r = runFixture('safetensors-fuzz', 'fuzz', [dir, String(COUNT), String(SEED), String(KEEP)])
    expect(r.status, r.stderr).toBe(0)
    const out = outcomeOf(r)
    expect(out.failures).toEqual([])
    expect(out.failureCount).toBe(0)
    // Both verdicts are common, or the mutations test little.
    expect(out.outcomes.accepted).toBeGreaterThan(COUNT / 20)
    expect(out.outcomes.ERR_MMAP_FORMAT).toBeGreaterThan(COUNT / 4)
    expect(Object.keys(out.outcomes).sort()).toEqual(['ERR_MMAP_FORMAT', 'accepted'])
    ours = JSON.parse(readFileSync(join(dir, 'diff', 'ours.json'), 'utf8'))
    expect(ours.length).toBe(Math.min(KEEP, COUNT))
  }, 600_000)

  it.skipIf(SAFETENSORS === undefined)(
    `differential: every file we accept, safetensors ${SAFETENSORS} accepts with the same tensors`,
    () => {
      expect(ours.length).toBeGreaterThan(0)
      const list = join(dir, 'diff', 'list.json')
      writeFileSync(list, JSON.stringify(ours.map((o) => o.file)))
      const py = spawnSync(
        'python3',
        [
          '-c',
          `
import hashlib, json, sys
import ml_dtypes  # noqa: F401  (numpy learns bfloat16)
from safetensors import safe_open, deserialize
out = []
for p in json.load(open(sys.argv[1])):
    try:
        with safe_open(p, framework="numpy") as f:
            meta = f.metadata()
            tensors = {k: {"dtype": f.get_slice(k).get_dtype(), "shape": f.get_slice(k).get_shape()} for k in f.keys()}
        for name, t in deserialize(open(p, "rb").read()):
            tensors[name]["sha"] = hashlib.sha256(bytes(t["data"])).hexdigest()
        out.append({"accepted": True, "tensors": tensors, "metadata": meta})
    except Exception as e:
        out.append({"accepted": False, "error": str(e)[:200]})
print(json.dumps(out))
`,
          list,
        ],
        { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
      )
      expect(py.status, py.stderr).toBe(0)
      const theirs = JSON.parse(py.stdout) as Theirs[]
      const counts = { both: 0, neither: 0, onlyTheirs: 0, unknownDtype: 0, emptyElsewhere: 0 }
      ours.forEach((o, i) => {
        const t = theirs[i]
        if (!o.accepted) {
          counts[t.accepted ? 'onlyTheirs' : 'neither']++
          return
        }
        if (!t.accepted) {
          // The documented classes only.
          const unknown = o.tensors!.some((x) => !REFERENCE_DTYPES.has(x.dtype))
          if (unknown) counts.unknownDtype++
          else if (!referenceLayoutHolds(o.file)) counts.emptyElsewhere++
          else expect.fail(`${o.file} (${o.how}): we accept, the reference says: ${t.error}`)
          return
        }
        counts.both++
        expect(o.metadata, o.file).toEqual(t.metadata ?? {})
        expect(o.tensors!.map((x) => x.name).sort(), o.file).toEqual(Object.keys(t.tensors!).sort())
        for (const x of o.tensors!) {
          const y = t.tensors![x.name]
          expect({ dtype: x.dtype, shape: x.shape }, `${o.file} ${x.name}`).toEqual({ dtype: y.dtype, shape: y.shape })
          if (x.sha !== undefined) expect(x.sha, `${o.file} ${x.name}`).toBe(y.sha)
        }
      })
      console.log(`safetensors differential over ${ours.length} files:`, counts)
      expect(counts.both).toBeGreaterThan(20)
      expect(counts.neither).toBeGreaterThan(20)
    },
    120_000,
  )
})
