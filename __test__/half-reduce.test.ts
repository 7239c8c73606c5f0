// The native float16 and bfloat16 reductions (issue #14) against numpy, through the binding's
// Mapping, which `MappedArray.sum()` and `memmap stats` call: sum, mean, std, min and max, and
// `stats`, equal to numpy's float64 reductions of the same values (float16 from numpy,
// bfloat16 from ml_dtypes), NaN and infinities included.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { Mapping } from '../dist/native.js'
import { pythonModules, tempDir } from './helpers'

const VERSIONS = pythonModules(['numpy', 'ml_dtypes'], 'float16/bfloat16 reduction tests')?.join(' ')

const dir = tempDir()

function python(code: string): any {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', cwd: dir, maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`)
  return JSON.parse(r.stdout)
}

const OPS = ['sum', 'mean', 'std', 'min', 'max'] as const
type Op = (typeof OPS)[number]

/**
 * Writes each case's array with numpy and returns numpy's float64 reductions of it (as strings,
 * so NaN and the infinities survive JSON), and the sum of magnitudes, which bounds the rounding.
 */
function written(npType: string): Record<string, Record<Op | 'abs', string> & { n: number }> {
  return python(`
import json, numpy as np, ml_dtypes
t = ${npType}
rng = np.random.default_rng(14)
x = rng.standard_normal(1_000_003) * 3 + 1
cases = {}
# Values of every magnitude the type has: normals, subnormals, the largest finite, -0.
bits = np.arange(65536, dtype=np.uint16).view(t)
finite = bits[np.isfinite(bits.astype(np.float64))]
cases['normals'] = x.astype(t)
cases['every_finite'] = np.concatenate([finite, finite[::-1], finite[:1000]])
cases['neg_zero'] = np.array([-0.0] * 3, dtype=t)
nan = x.astype(t); nan[777_777] = np.nan; cases['nan'] = nan
inf = x.astype(t); inf[5] = np.inf; cases['inf'] = inf
out = {}
for name, a in cases.items():
    a.tofile(name + '.' + ${JSON.stringify(npType)})
    w = a.astype(np.float64)
    r = {op: repr(float(getattr(w, op)())) for op in ['sum', 'mean', 'std', 'min', 'max']}
    r['abs'] = repr(float(np.abs(w).sum()))
    r['n'] = int(a.size)
    # numpy's own min and max of the narrow type are the same values.
    assert float(a.min()) == float(w.min()) or np.isnan(w.min())
    out[name] = r
print(json.dumps(out))`)
}

const num = (s: string): number => (s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s))

describe.skipIf(VERSIONS === undefined)(
  `float16 and bfloat16 reductions against numpy and ml_dtypes ${VERSIONS}`,
  () => {
    for (const [dtype, npType] of [
      ['float16', 'np.float16'],
      ['bfloat16', 'ml_dtypes.bfloat16'],
    ] as const) {
      it(`${dtype}: sum, mean, std, min, max and stats agree with numpy's float64 reductions`, async () => {
        const want = written(npType)
        for (const [name, w] of Object.entries(want)) {
          const map = Mapping.open(join(dir, `${name}.${npType}`), 'r', 0)
          try {
            expect(map.byteLength).toBe(2 * w.n)
            const got = Object.fromEntries(OPS.map((op) => [op, map.reduce(dtype, op) as number]))
            const ctx = `${dtype} ${name}`
            // numpy adds the exact values in f64. memmap adds pairs of elements in float32 (one
            // rounding each, at most 2^-24 of the pair, none for values of like magnitude) and the
            // rest in f64: 2^-24 of the sum of magnitudes bounds the difference (1% for the f64
            // part). Accumulating in float32 throughout would exceed it on these arrays.
            const tol = 2 ** -24 * 1.01 * num(w.abs)
            for (const op of ['sum', 'mean'] as const) {
              const [g, e] = [got[op], num(w[op])]
              const bound = op === 'sum' ? tol : tol / w.n
              if (Number.isFinite(e)) expect(Math.abs(g - e), `${ctx} ${op}: ${g} vs ${e}`).toBeLessThanOrEqual(bound)
              else expect(g, `${ctx} ${op}`).toBe(e) // NaN and ±Infinity exactly (toBe is Object.is)
            }
            const sd = num(w.std)
            // std: moments in f64 about each chunk's mean, merged in f64: f64 rounding only.
            if (Number.isFinite(sd))
              expect(Math.abs(got.std - sd), `${ctx} std`).toBeLessThanOrEqual(1e-12 * sd + 1e-300)
            else expect(got.std, `${ctx} std`).toBe(sd)
            // min and max are elements: exact, -0 included (toBe tells -0 from 0).
            expect(got.min, `${ctx} min`).toBe(num(w.min))
            expect(got.max, `${ctx} max`).toBe(num(w.max))
            // stats: the single reductions to the bit, from one pass.
            const s = await map.stats(dtype)
            expect(s.count).toBe(w.n)
            for (const op of OPS) expect(s[op], `${ctx} stats.${op}`).toBe(got[op])
          } finally {
            map.close([])
          }
        }
        // An empty file: sum 0 and mean NaN as numpy says; min has no value (numpy raises too).
        const empty = join(dir, `empty.${dtype}`)
        writeFileSync(empty, '')
        const map = Mapping.open(empty, 'r', 0)
        try {
          expect([map.reduce(dtype, 'sum'), map.reduce(dtype, 'mean'), map.reduce(dtype, 'std')]).toEqual([0, NaN, NaN])
          expect(() => map.reduce(dtype, 'min')).toThrow(/min\(\) of an empty array/)
          expect(await map.stats(dtype)).toEqual({ count: 0, sum: 0, mean: NaN, std: NaN, min: null, max: null })
        } finally {
          map.close([])
        }
        // What the cases are for: -0 is its own min and max, sums to +0 as in numpy; NaN and +Inf win.
        expect([want.neg_zero.min, want.neg_zero.max, want.neg_zero.sum]).toEqual(['-0.0', '-0.0', '0.0'])
        expect([want.nan.sum, want.nan.min, want.inf.sum, want.inf.max, want.inf.std]).toEqual([
          'nan',
          'nan',
          'inf',
          'inf',
          'nan',
        ])
      })
    }
  },
)
