// npm run bench:weights: model weights in place (issue #14), side by side in one run. Prints
// markdown tables of medians and ratios, the goals met or not, and writes benches/out/weights.json.
//
//   node benches/weights.mjs [--repeats 7] [--rounds 3] [--sum-mib 512]
//
// 1. Sums of a 512 MiB float16 and bfloat16 tensor (random values, written to real pages, so the
//    data is in the page cache): memmap's `tensor.sum()` against numpy on the same bytes
//    (`np.memmap`; float16 `.sum()` natively, bfloat16 `.sum()` through ml_dtypes, and both with
//    `dtype=np.float32`) and against the native limit (benches/native-limit reading the same file
//    as u64 words: the machine's sequential-read bandwidth, one thread and all cores).
// 2. A synthetic sparse safetensors file shaped like LLaMA-7B (291 bfloat16 tensors, 13.5 GB,
//    almost no disk): `openSafetensors` + a view of every tensor + close, against Python
//    `safetensors.safe_open(framework="numpy")` + `get_tensor` of every tensor (which copies:
//    it reads 13.5 GB of zero pages, so it runs once per round).
//
// Rounds alternate between the contenders and each figure is the median over rounds of each
// round's median, so the machine's noise falls on both sides alike. Python needs numpy,
// safetensors and ml_dtypes; without them its columns are skipped with a note.
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import * as memmap from '../dist/index.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const REPEATS = Number(arg('repeats', 7))
const ROUNDS = Number(arg('rounds', 3))
const SUM_MIB = Number(arg('sum-mib', 512))
const CORES = availableParallelism()

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const now = () => process.hrtime.bigint()
const msSince = (t0) => Number(now() - t0) / 1e6
function timeMs(fn, repeats = REPEATS) {
  const times = []
  let value
  for (let r = 0; r < repeats; r++) {
    const t0 = now()
    value = fn()
    times.push(msSince(t0))
  }
  return { ms: median(times), value }
}

const tables = []
function table(title, header, rows) {
  tables.push(
    [
      `### ${title}`,
      '',
      `| ${header.join(' | ')} |`,
      `| ${header.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
    ].join('\n'),
  )
}
const fmt = (x, digits = 2) => (x === undefined ? 'n/a' : typeof x === 'string' ? x : x.toFixed(digits))
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' ? `${fmt(a / b, a / b >= 10 ? 0 : 2)}x` : 'n/a')

function py(code) {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}
const probe = spawnSync(
  'python3',
  [
    '-c',
    'import json, numpy, safetensors, ml_dtypes; print(json.dumps([numpy.__version__, safetensors.__version__, ml_dtypes.__version__]))',
  ],
  { encoding: 'utf8' },
)
const PY = probe.status === 0 ? JSON.parse(probe.stdout) : undefined
if (!PY)
  console.warn(
    'note: python3 lacks numpy, safetensors or ml_dtypes: its columns are skipped (pip install numpy safetensors ml-dtypes)',
  )

execFileSync('cargo', ['build', '--release', '--quiet', '-p', 'native-limit'], { cwd: root, stdio: 'inherit' })
const nativeLimit = join(root, 'target', 'release', 'native-limit')
const native = (p, threads) =>
  JSON.parse(execFileSync(nativeLimit, [p, 'u64', String(threads), String(REPEATS)], { encoding: 'utf8' })).ms

/** The safetensors header for `tensors` ([name, dtype, shape, itemsize]), laid out back to back:
 * the format's own rules (u64 LE length, JSON padded with spaces to a multiple of 8). */
function header(tensors, metadata = { format: 'pt' }) {
  const h = { __metadata__: metadata }
  let at = 0
  for (const [name, dtype, shape, itemsize] of tensors) {
    const bytes = shape.reduce((n, d) => n * d, itemsize)
    h[name] = { dtype, shape, data_offsets: [at, at + bytes] }
    at += bytes
  }
  let json = JSON.stringify(h)
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8)
  const head = Buffer.alloc(8 + Buffer.byteLength(json))
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)))
  head.write(json, 8)
  return { head, dataBytes: at }
}

/** Reads a safetensors header back (where the data starts, for numpy's view of the same bytes). */
function readHeader(p) {
  const fd = openSync(p, 'r')
  try {
    const len = Buffer.alloc(8)
    readSync(fd, len, 0, 8, 0)
    const n = Number(len.readBigUInt64LE())
    const json = Buffer.alloc(n)
    readSync(fd, json, 0, n, 8)
    return { dataStart: 8 + n, tensors: JSON.parse(json.toString('utf8')) }
  } finally {
    closeSync(fd)
  }
}

const dir = mkdtempSync(join(tmpdir(), 'memmap-weights-'))
const results = {
  node: process.version,
  cores: CORES,
  python: PY && { numpy: PY[0], safetensors: PY[1], ml_dtypes: PY[2] },
  repeats: REPEATS,
  rounds: ROUNDS,
  sections: {},
}
const goals = []
const goal = (text, met) => goals.push(`- ${met === undefined ? 'not measured' : met ? 'met' : 'NOT met'}: ${text}`)

try {
  // --- 1. sums of a 512 MiB tensor ----------------------------------------------------------
  const sumRows = []
  const accuracyRows = []
  for (const [dtype, st, npType] of [
    ['bfloat16', 'BF16', 'ml_dtypes.bfloat16'],
    ['float16', 'F16', 'np.float16'],
  ]) {
    const n = (SUM_MIB * 2 ** 20) / 2
    const side = 2 ** Math.ceil(Math.log2(n) / 2)
    const shape = n % side === 0 ? [n / side, side] : [n]
    const p = join(dir, `${dtype}.safetensors`)
    const { head } = header([['w', st, shape, 2]])
    writeFileSync(p, head)
    // Random weights (normal, sigma 0.02) written by numpy in slices, through the page cache.
    const gen = spawnSync(
      'python3',
      [
        '-c',
        `
import sys, numpy as np, ml_dtypes
rng = np.random.default_rng(14)
with open(sys.argv[1], 'ab') as f:
    left = ${n}
    while left:
        k = min(left, 1 << 24)
        f.write((rng.standard_normal(k, dtype=np.float32) * 0.02 + 0.001).astype(${npType}).tobytes())
        left -= k`,
        p,
      ],
      { encoding: 'utf8' },
    )
    if (gen.status !== 0) throw new Error(`generating ${p} needs numpy and ml_dtypes: ${gen.stderr}`)
    const { dataStart } = readHeader(p)
    const bytes = n * 2

    const file = memmap.openSafetensors(p)
    const tensor = file.tensor('w')
    const ours = () => tensor.sum()
    ours() // the first pass maps the pages in
    const r = { memmap: [], numpy: [], numpyF32: [], limit1: [], limitAll: [] }
    let np
    for (let round = 0; round < ROUNDS; round++) {
      r.memmap.push(timeMs(ours).ms)
      if (PY) {
        np = py(`
import json, time, numpy as np, ml_dtypes
a = np.memmap(${JSON.stringify(p)}, dtype=${npType}, mode='r', offset=${dataStart}, shape=(${n},))
def med(f):
    ts = []
    for _ in range(${REPEATS}):
        t = time.perf_counter(); v = f(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2] * 1e3, v
ms, v = med(lambda: a.sum())
ms32, v32 = med(lambda: a.sum(dtype=np.float32))
# inf and nan as strings: JSON has no such numbers.
num = lambda x: float(x) if np.isfinite(x) else str(float(x))
print(json.dumps({'ms': ms, 'value': num(v), 'dtype': str(v.dtype), 'msF32': ms32, 'valueF32': num(v32)}))`)
        np.value = Number(np.value === 'inf' ? Infinity : np.value === '-inf' ? -Infinity : np.value)
        np.valueF32 = Number(np.valueF32 === 'inf' ? Infinity : np.valueF32 === '-inf' ? -Infinity : np.valueF32)
        r.numpy.push(np.ms)
        r.numpyF32.push(np.msF32)
      }
      r.limit1.push(native(p, 1))
      r.limitAll.push(native(p, CORES))
    }
    const value = ours()
    file.close()
    // The float64 reference: every element widened exactly and summed in f64 (not timed).
    const ref = PY
      ? py(`
import json, numpy as np, ml_dtypes, math
a = np.memmap(${JSON.stringify(p)}, dtype=${npType}, mode='r', offset=${dataStart}, shape=(${n},))
print(json.dumps({'sum': math.fsum(float(a[i:i + (1 << 24)].astype(np.float64).sum()) for i in range(0, ${n}, 1 << 24))}))`)
          .sum
      : undefined
    rmSync(p, { force: true })

    const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.length ? median(v) : undefined]))
    const gbs = (ms) => (ms === undefined ? undefined : bytes / ms / 1e6)
    results.sections[`sum_${dtype}`] = {
      bytes,
      ms: m,
      gbs: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, gbs(v)])),
      value,
      // JSON has no Infinity or NaN: those go as strings.
      numpy: np && {
        value: Number.isFinite(np.value) ? np.value : String(np.value),
        dtype: np.dtype,
        valueF32: Number.isFinite(np.valueF32) ? np.valueF32 : String(np.valueF32),
      },
      reference: ref,
    }
    sumRows.push([
      dtype,
      `${fmt(m.memmap, 1)} (${fmt(gbs(m.memmap), 1)} GB/s)`,
      PY ? `${fmt(m.numpy, 1)} (${ratio(m.numpy, m.memmap)})` : 'n/a',
      PY ? `${fmt(m.numpyF32, 1)} (${ratio(m.numpyF32, m.memmap)})` : 'n/a',
      `${fmt(m.limit1, 1)} / ${fmt(m.limitAll, 1)} (${fmt(gbs(m.limit1), 1)} / ${fmt(gbs(m.limitAll), 1)} GB/s)`,
      fmt(m.limitAll / m.memmap),
    ])
    const rel = (v) => (ref === undefined ? 'n/a' : (Math.abs(v - ref) / Math.abs(ref)).toExponential(1))
    accuracyRows.push([
      dtype,
      ref === undefined ? 'n/a' : ref.toPrecision(10),
      `${value.toPrecision(10)} (${rel(value)})`,
      np ? `${np.value.toPrecision(6)} as ${np.dtype} (${rel(np.value)})` : 'n/a',
      np ? `${np.valueF32.toPrecision(8)} (${rel(np.valueF32)})` : 'n/a',
    ])
    const fastest = PY ? Math.min(m.numpy, m.numpyF32) : undefined
    goal(
      `${dtype} sum >= 0.8x the native limit (all ${CORES} threads): ${fmt(m.limitAll / m.memmap)}x`,
      m.limitAll / m.memmap >= 0.8,
    )
    goal(
      `${dtype} sum faster than numpy (both .sum() and .sum(dtype=float32)): ${PY ? ratio(fastest, m.memmap) : 'n/a'}`,
      PY ? m.memmap < fastest : undefined,
    )
  }
  table(
    `Sum of a ${SUM_MIB} MiB tensor in page cache (median ms; in brackets: GB/s, or time relative to memmap)`,
    [
      'dtype',
      'memmap tensor.sum()',
      'numpy .sum()',
      'numpy .sum(dtype=float32)',
      `native limit (u64 read): 1 / ${CORES} threads`,
      `memmap / limit (${CORES} threads)`,
    ],
    sumRows,
  )
  table(
    'What each sum returns (relative error against the float64 sum of the exact values)',
    ['dtype', 'float64 reference', 'memmap (pairs in f32, then f64)', 'numpy .sum()', 'numpy .sum(dtype=float32)'],
    accuracyRows,
  )

  // --- 2. open + header + a view of every tensor: a sparse LLaMA-7B --------------------------
  const H = 4096
  const FF = 11008
  const VOCAB = 32000
  const tensors = [['model.embed_tokens.weight', 'BF16', [VOCAB, H], 2]]
  for (let i = 0; i < 32; i++) {
    const l = `model.layers.${i}`
    for (const x of ['q', 'k', 'v', 'o']) tensors.push([`${l}.self_attn.${x}_proj.weight`, 'BF16', [H, H], 2])
    tensors.push([`${l}.mlp.gate_proj.weight`, 'BF16', [FF, H], 2])
    tensors.push([`${l}.mlp.up_proj.weight`, 'BF16', [FF, H], 2])
    tensors.push([`${l}.mlp.down_proj.weight`, 'BF16', [H, FF], 2])
    tensors.push([`${l}.input_layernorm.weight`, 'BF16', [H], 2])
    tensors.push([`${l}.post_attention_layernorm.weight`, 'BF16', [H], 2])
  }
  tensors.push(['model.norm.weight', 'BF16', [H], 2])
  tensors.push(['lm_head.weight', 'BF16', [VOCAB, H], 2])
  const model = join(dir, 'llama-7b.safetensors')
  const { head, dataBytes } = header(tensors)
  writeFileSync(model, head)
  truncateSync(model, head.length + dataBytes)
  const fileBytes = head.length + dataBytes

  const openAll = () => {
    const f = memmap.openSafetensors(model)
    let k = 0
    for (const name of f.names()) k += f.tensor(name).size
    f.close()
    return k
  }
  const elements = tensors.reduce((n, [, , shape]) => n + shape.reduce((a, b) => a * b, 1), 0)
  if (openAll() !== elements) throw new Error('the views do not cover every element')
  const OPENS = 20
  const r = { memmap: [], memmapCold: [], python: [], pythonKeys: [] }
  // The first open in a new process (the module imported first, not timed): what a program that
  // loads one model pays, before V8 has compiled the header reader.
  const coldScript = `
import { openSafetensors } from ${JSON.stringify(new URL('../dist/index.mjs', import.meta.url).href)}
const t = process.hrtime.bigint()
const f = openSafetensors(process.argv[1])
for (const name of f.names()) f.tensor(name)
f.close()
console.log(Number(process.hrtime.bigint() - t) / 1e6)`
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < 3; i++) {
      const c = spawnSync(process.execPath, ['--input-type=module', '-e', coldScript, model], { encoding: 'utf8' })
      if (c.status !== 0) throw new Error(`cold open failed: ${c.stderr}`)
      r.memmapCold.push(Number(c.stdout))
    }
    for (let i = 0; i < 3; i++) openAll()
    r.memmap.push(timeMs(openAll, OPENS).ms)
    if (PY) {
      const t = py(`
import json, time, ml_dtypes, numpy as np
from safetensors import safe_open
t = time.perf_counter()
with safe_open(${JSON.stringify(model)}, framework="numpy") as f:
    names = list(f.keys())
keys = time.perf_counter() - t
t = time.perf_counter()
k = 0
with safe_open(${JSON.stringify(model)}, framework="numpy") as f:
    for name in f.keys():
        k += f.get_tensor(name).size
print(json.dumps({'ms': (time.perf_counter() - t) * 1e3, 'keysMs': keys * 1e3, 'elements': k, 'tensors': len(names)}))`)
      if (t.elements !== elements || t.tensors !== tensors.length) throw new Error('safetensors saw another file')
      r.python.push(t.ms)
      r.pythonKeys.push(t.keysMs)
    }
  }
  rmSync(model, { force: true })
  const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.length ? median(v) : undefined]))
  results.sections.open = { tensors: tensors.length, fileBytes, ms: m }
  table(
    `open + header + a view of every tensor: sparse LLaMA-7B shapes, ${tensors.length} bfloat16 tensors, ${fmt(fileBytes / 1e9, 1)} GB (median ms over ${ROUNDS} alternating rounds)`,
    ['contender', 'ms', 'relative to memmap'],
    [
      [`memmap openSafetensors + tensor() of each + close`, fmt(m.memmap, 2), '1x'],
      [
        'the same, first open in a new process (module loaded, untimed)',
        fmt(m.memmapCold, 2),
        ratio(m.memmapCold, m.memmap),
      ],
      ['safetensors safe_open(numpy) + get_tensor of each (copies)', fmt(m.python, 0), ratio(m.python, m.memmap)],
      ['safetensors safe_open(numpy) + keys only (no tensor)', fmt(m.pythonKeys, 2), ratio(m.pythonKeys, m.memmap)],
    ],
  )
  goal(`open + header + all views <= 5 ms: ${fmt(m.memmap, 2)} ms`, m.memmap <= 5)
  goal(
    `open + header + all views >= 10x faster than safe_open + get_tensor: ${ratio(m.python, m.memmap)}`,
    PY ? m.python / m.memmap >= 10 : undefined,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const py_ = PY ? `numpy ${PY[0]}, safetensors ${PY[1]}, ml_dtypes ${PY[2]}` : 'python packages absent'
console.log(`\n## Model weights benchmark (node ${process.version}, ${py_}, ${CORES} cores)\n\n${tables.join('\n')}`)
console.log(`### Goals (issue #14)\n\n${goals.join('\n')}\n`)
results.goals = goals
mkdirSync(join(here, 'out'), { recursive: true })
writeFileSync(join(here, 'out', 'weights.json'), JSON.stringify(results, null, 2))
console.log(`(written to ${join('benches', 'out', 'weights.json')})`)
