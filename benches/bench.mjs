// npm run bench: memmap against the tools users would pick instead, side by side, in one run,
// on the same generated files. Prints markdown tables of medians and ratios and writes
// benches/out/bench.json for comparison across commits.
//
//   node benches/bench.mjs [--gib 1] [--huge-gib 16] [--repeats 5] [--skip-stream] [--only-open]
//
// --only-open runs sections 1 and 1b (open latency, first use) alone: `npm run bench:open`.
//
// Competitors: numpy.memmap (python3 with numpy; skipped with a note if absent), @riaskov/mmap-io
// (a JS loop over its mapping), fs.readFileSync + a JS loop, and the native limit: a plain Rust
// sequential read of the same mapping (benches/native-limit) on one thread and on all cores.
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { MmapArray, MmapCache } from '../dist/index.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const require = createRequire(import.meta.url)
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const GIB = Number(arg('gib', 1))
const HUGE_GIB = Number(arg('huge-gib', 16))
const REPEATS = Number(arg('repeats', 5))
const ONLY_OPEN = process.argv.includes('--only-open')
const SKIP_STREAM = ONLY_OPEN || process.argv.includes('--skip-stream')
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

const dir = mkdtempSync(join(tmpdir(), 'memmap-bench-'))
const results = { node: process.version, cores: CORES, gib: GIB, hugeGib: HUGE_GIB, repeats: REPEATS, sections: {} }
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

// --- setup -----------------------------------------------------------------------------------
const python = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' })
const NUMPY = python.status === 0 ? python.stdout.trim() : undefined
if (NUMPY === undefined) console.warn('note: numpy not found for python3: its columns are skipped (pip install numpy)')
let mmapIo
try {
  mmapIo = require('@riaskov/mmap-io')
} catch {
  console.warn('note: @riaskov/mmap-io not installed (npm --prefix benches install): its columns are skipped')
}
execFileSync('cargo', ['build', '--release', '--quiet', '-p', 'native-limit'], { cwd: root, stdio: 'inherit' })
const nativeLimit = join(root, 'target', 'release', 'native-limit')

function makeFile(name, dtype, n) {
  const p = join(dir, name)
  const a = MmapArray.create(p, { shape: [n], dtype })
  const v = a.array
  let s = 88172645
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    v[i] = s / 2 ** 31 - 1 // uniform in [-1, 1)
  }
  a.flush()
  a.close()
  return p
}
const N64 = (GIB * 2 ** 30) / 8
const N32 = (GIB * 2 ** 30) / 4
console.log(`generating ${GIB} GiB float64 and float32 files in ${dir} ...`)
const files = {
  small: makeFile('small.f64', 'float64', 2 ** 17),
  f64: makeFile('data.f64', 'float64', N64),
  f32: makeFile('data.f32', 'float32', N32),
  huge: join(dir, 'huge.f64'),
}
writeFileSync(files.huge, '')
truncateSync(files.huge, HUGE_GIB * 2 ** 30)

function py(code) {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

// --- 1. open latency -------------------------------------------------------------------------
// Issue #12's goals, as ratios in this run: open + close at most 20 µs and below numpy's; open +
// read the last element + close at most 2x numpy's. Both sides time the same steps: open (the
// whole file, read-only), optionally read the last element, close (`del` in Python, which
// unmaps at once when nothing else holds the map).
{
  const cases = [
    ['1 MiB', files.small, 'float64'],
    [`${GIB} GiB`, files.f64, 'float64'],
    [`${HUGE_GIB} GiB sparse`, files.huge, 'float64'],
  ]
  const OPENS = 200
  const ROUNDS = 3
  const rows = []
  const out = {}
  const medianUs = (fn) => {
    for (let i = 0; i < 20; i++) fn()
    return timeMs(fn, OPENS).ms * 1000
  }
  const numpyUs = (p, dtype, last) =>
    py(`
import json, time, numpy as np
def once():
    t = time.perf_counter()
    a = np.memmap(${JSON.stringify(p)}, dtype='${dtype}', mode='r')
    ${last ? 'a[-1]' : 'pass'}
    del a
    return time.perf_counter() - t
for _ in range(20): once()
ts = sorted(once() for _ in range(${OPENS}))
print(json.dumps({'us': ts[len(ts)//2] * 1e6}))`).us
  for (const [label, p, dtype] of cases) {
    const r = { memmap: [], numpy: [], memmapLast: [], numpyLast: [] }
    // Alternating rounds, the median of each: the machine's noise falls on both sides alike.
    for (let round = 0; round < ROUNDS; round++) {
      r.memmap.push(
        medianUs(() => {
          const a = MmapArray.open(p, { dtype, mode: 'r' })
          a.close()
        }),
      )
      r.memmapLast.push(
        medianUs(() => {
          const a = MmapArray.open(p, { dtype, mode: 'r' })
          a.get(a.size - 1)
          a.close()
        }),
      )
      if (NUMPY) {
        r.numpy.push(numpyUs(p, dtype, false))
        r.numpyLast.push(numpyUs(p, dtype, true))
      }
    }
    let peer
    if (mmapIo) {
      try {
        const size = Number(readSizeOf(p))
        peer =
          timeMs(
            () => {
              const fd = openSync(p, 'r')
              const buf = mmapIo.map(size, mmapIo.PROT_READ, mmapIo.MAP_SHARED, fd)
              closeSync(fd)
              return buf.length
            },
            Math.min(OPENS, 20),
          ).ms * 1000
      } catch (err) {
        peer = `fails (${String(err.message).slice(0, 40)})`
      }
    }
    const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.length ? median(v) : undefined]))
    out[label] = { ...m, mmapIo: peer }
    const ratio = (a, b) => (typeof b === 'number' ? `${fmt(a / b)}x` : 'n/a')
    rows.push([
      label,
      fmt(m.memmap, 1),
      fmt(m.numpy, 1),
      ratio(m.memmap, m.numpy),
      fmt(m.memmapLast, 1),
      fmt(m.numpyLast, 1),
      ratio(m.memmapLast, m.numpyLast),
      fmt(peer, 1),
    ])
  }
  results.sections.open = out
  table(
    `Open latency (median µs of ${OPENS}, median of ${ROUNDS} alternating rounds; read-only; goals: open+close <= 20 µs and < numpy, +last <= 2x numpy)`,
    [
      'file',
      'open+close memmap',
      'numpy.memmap',
      'memmap / numpy',
      '+ read last: memmap',
      'numpy.memmap',
      'memmap / numpy',
      '@riaskov/mmap-io open (leaks, no close)',
    ],
    rows,
  )
}

// --- 1b. what a first use costs, and what never makes a buffer --------------------------------
// Opening makes no ArrayBuffer over the mapping; the first accesses copy single elements with a
// native call and the view over the whole mapping is made on the 65th (js/mapped-array.ts).
{
  const p = files.f64
  const n = readSizeOf(p) / 8n
  const firstArray = timeMs(() => {
    const a = MmapArray.open(p, { mode: 'r' })
    const t0 = now()
    a.array
    const us = Number(now() - t0) / 1e3
    a.close()
    return us
  }, 50)
  const firstGet = timeMs(() => {
    const a = MmapArray.open(p, { mode: 'r' })
    a.get(0)
    const t0 = now()
    a.get(1)
    const us = Number(now() - t0) / 1e3
    a.close()
    return us
  }, 50)
  // 2^20 get() from a fresh open (the first 64 native copies and the view included), against a
  // typed array's loop over the same elements.
  const count = Math.min(2 ** 20, Number(n))
  const getLoop = timeMs(() => {
    const a = MmapArray.open(p, { mode: 'r' })
    let s = 0
    for (let i = 0; i < count; i++) s += a.get(i)
    a.close()
    return s
  }).ms
  const rawLoop = timeMs(() => {
    const a = MmapArray.open(p, { mode: 'r' })
    const v = a.array
    let s = 0
    for (let i = 0; i < count; i++) s += v[i]
    a.close()
    return s
  }).ms
  // Reductions run natively over the mapping: V8's external memory, which counts every external
  // ArrayBuffer's bytes (and only them here), does not grow by the mapping's size.
  const before = process.memoryUsage().external
  const a = MmapArray.open(p, { mode: 'r' })
  a.sum()
  a.max()
  const grew = process.memoryUsage().external - before
  a.close()
  results.sections.firstUse = {
    firstArrayUs: firstArray.value,
    firstGetUs: firstGet.value,
    getLoopNs: (getLoop * 1e6) / count,
    rawLoopNs: (rawLoop * 1e6) / count,
    reductionBufferBytes: grew,
  }
  const f = results.sections.firstUse
  table(
    `First use of a freshly opened ${GIB} GiB float64 file`,
    ['what', 'cost'],
    [
      ['first `.array` (makes the view over the whole mapping)', `${fmt(f.firstArrayUs, 1)} µs`],
      ['a `get()` before the view exists (one native copy)', `${fmt(f.firstGetUs, 2)} µs`],
      [
        `loop of ${count} \`get(i)\` from open, vs the same loop over \`.array\``,
        `${fmt(f.getLoopNs)} ns vs ${fmt(f.rawLoopNs)} ns per element (${fmt(f.rawLoopNs / f.getLoopNs)}x raw)`,
      ],
      [
        `V8 external memory made by \`sum()\` + \`max()\` (a buffer would be ${GIB} GiB)`,
        `${fmt(f.reductionBufferBytes / 1024, 1)} KiB`,
      ],
    ],
  )
}

function readSizeOf(p) {
  return BigInt(require('node:fs').statSync(p).size)
}

// --- 2. reductions ---------------------------------------------------------------------------
const jsLoop = {
  sum: (a) => {
    let s = 0
    for (let i = 0; i < a.length; i++) s += a[i]
    return s
  },
  mean: (a) => jsLoop.sum(a) / a.length,
  std: (a) => {
    const m = jsLoop.mean(a)
    let s = 0
    for (let i = 0; i < a.length; i++) {
      const d = a[i] - m
      s += d * d
    }
    return Math.sqrt(s / a.length)
  },
  min: (a) => {
    let m = Infinity
    for (let i = 0; i < a.length; i++) if (a[i] < m) m = a[i]
    return m
  },
  max: (a) => {
    let m = -Infinity
    for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i]
    return m
  },
}
const OPS = ['sum', 'mean', 'std', 'min', 'max']
for (const [dtype, key, ctor] of ONLY_OPEN
  ? []
  : [
      ['float64', 'f64', Float64Array],
      ['float32', 'f32', Float32Array],
    ]) {
  const p = files[key]
  const bytes = GIB * 2 ** 30
  const gbps = (ms) => bytes / 1e9 / (ms / 1e3)
  const arr = MmapArray.open(p, { dtype, mode: 'r' })
  const ours = Object.fromEntries(OPS.map((op) => [op, timeMs(() => arr[op]()).ms]))
  arr.close()
  const limit1 = JSON.parse(execFileSync(nativeLimit, [p, key, '1', String(REPEATS)], { encoding: 'utf8' })).ms
  const limitN = JSON.parse(
    execFileSync(nativeLimit, [p, key, String(CORES), String(REPEATS)], { encoding: 'utf8' }),
  ).ms
  const np = NUMPY
    ? py(`
import json, time, numpy as np
a = np.memmap(${JSON.stringify(p)}, dtype='${dtype}', mode='r')
out = {}
for op in ${JSON.stringify(OPS)}:
    ts = []
    for _ in range(${REPEATS}):
        t = time.perf_counter(); getattr(a, op)(); ts.append(time.perf_counter() - t)
    ts.sort(); out[op] = ts[len(ts)//2] * 1e3
print(json.dumps(out))`)
    : undefined
  let peer
  if (mmapIo) {
    const fd = openSync(p, 'r')
    const buf = mmapIo.map(bytes, mmapIo.PROT_READ, mmapIo.MAP_SHARED, fd)
    closeSync(fd)
    const view = new ctor(buf.buffer, buf.byteOffset, buf.length / ctor.BYTES_PER_ELEMENT)
    peer = Object.fromEntries(OPS.map((op) => [op, timeMs(() => jsLoop[op](view)).ms]))
  }
  const readFile = Object.fromEntries(
    OPS.map((op) => [
      op,
      timeMs(
        () => {
          const b = readFileSync(p)
          return jsLoop[op](new ctor(b.buffer, b.byteOffset, b.length / ctor.BYTES_PER_ELEMENT))
        },
        Math.min(REPEATS, 3),
      ).ms,
    ]),
  )
  results.sections[`reduce_${key}`] = {
    memmap: ours,
    numpy: np,
    mmapIoJsLoop: peer,
    readFileSync: readFile,
    nativeLimit1: limit1,
    nativeLimitAll: limitN,
  }
  const rows = OPS.map((op) => [
    op,
    `${fmt(ours[op], 1)} (${fmt(gbps(ours[op]), 1)} GB/s)`,
    np ? `${fmt(np[op], 1)} (${fmt(np[op] / ours[op])}x)` : 'n/a',
    peer ? `${fmt(peer[op], 1)} (${fmt(peer[op] / ours[op])}x)` : 'n/a',
    `${fmt(readFile[op], 0)} (${fmt(readFile[op] / ours[op], 1)}x)`,
    op === 'sum'
      ? `${fmt(limit1, 1)} / ${fmt(limitN, 1)} (${fmt(gbps(limit1), 1)} / ${fmt(gbps(limitN), 1)} GB/s)`
      : '',
  ])
  table(
    `Reductions over ${GIB} GiB ${dtype} in page cache (median ms; in brackets: GB/s, or time relative to memmap)`,
    [
      'op',
      'memmap',
      'numpy.memmap',
      'JS loop over mmap-io',
      'readFileSync + JS loop',
      `native limit: 1 thread / ${CORES} threads`,
    ],
    rows,
  )
}

// --- 3. streaming pass over a file larger than RAM would like ----------------------------------
if (!SKIP_STREAM) {
  const child = (code) => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(r.stderr)
    return JSON.parse(r.stdout.trim())
  }
  const runOurs = () =>
    child(`
    import { MmapArray } from ${JSON.stringify(join(root, 'dist', 'index.mjs'))}
    const t = process.hrtime.bigint()
    const a = MmapArray.open(${JSON.stringify(files.huge)}, { dtype: 'float64', mode: 'r' })
    let s = 0
    for (const { data } of a.chunks()) for (let i = 0; i < data.length; i++) s += data[i]
    a.close()
    console.log(JSON.stringify({ ms: Number(process.hrtime.bigint() - t) / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024, s }))`)
  const runNumpy = () =>
    py(`
import json, time, resource, numpy as np
t = time.perf_counter()
a = np.memmap(${JSON.stringify(files.huge)}, dtype='float64', mode='r')
step = 2 * 1024 * 1024
s = 0.0
for i in range(0, a.shape[0], step):
    s += float(a[i:i + step].sum())
print(json.dumps({'ms': (time.perf_counter() - t) * 1e3, 'maxRssMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 's': s}))`)
  // The first pass fills the page cache with the file: run each tool twice, interleaved, and
  // report each one's second (warm) pass, so neither gets the other's cold start.
  let ours
  let np
  for (let round = 0; round < 2; round++) {
    ours = runOurs()
    if (NUMPY) np = runNumpy()
  }
  results.sections.stream = { memmap: ours, numpy: np }
  table(
    `A chunked pass over a ${HUGE_GIB} GiB sparse float64 file (16 MiB chunks; second, warm pass of each)`,
    ['tool', 'time (s)', 'peak RSS (MiB)'],
    [
      ['memmap `chunks()` + JS loop', fmt(ours.ms / 1e3), fmt(ours.maxRssMiB, 0)],
      ['numpy.memmap chunk loop + `.sum()`', np ? fmt(np.ms / 1e3) : 'n/a', np ? fmt(np.maxRssMiB, 0) : 'n/a'],
    ],
  )
}

// --- 4. element access and cache hits --------------------------------------------------------
if (!ONLY_OPEN) {
  const n = 2 ** 20
  const a = MmapArray.create(join(dir, 'access.f64'), { shape: [n] })
  const raw = a.array
  const loops = 10
  const get = timeMs(() => {
    let s = 0
    for (let k = 0; k < loops; k++) for (let i = 0; i < n; i++) s += a.get(i)
    return s
  }).ms
  const rawGet = timeMs(() => {
    let s = 0
    for (let k = 0; k < loops; k++) for (let i = 0; i < n; i++) s += raw[i]
    return s
  }).ms
  const set = timeMs(() => {
    for (let k = 0; k < loops; k++) for (let i = 0; i < n; i++) a.set(i, i)
  }).ms
  const rawSet = timeMs(() => {
    for (let k = 0; k < loops; k++) for (let i = 0; i < n; i++) raw[i] = i
  }).ms
  a.close()
  const cache = new MmapCache({ maxSize: 4 })
  cache.getOrCreate(files.small)
  const hits = 100_000
  const hit = timeMs(() => {
    for (let i = 0; i < hits; i++) cache.getOrCreate(files.small)
  }).ms
  cache.clear()
  const per = (ms, count) => (ms * 1e6) / count
  results.sections.access = {
    getNs: per(get, n * loops),
    rawGetNs: per(rawGet, n * loops),
    setNs: per(set, n * loops),
    rawSetNs: per(rawSet, n * loops),
    cacheHitNs: per(hit, hits),
  }
  const s = results.sections.access
  table(
    'Element access and cache hits (median ns per call; goal: get/set at least 0.5x a raw typed array, a ratio <= 2x)',
    ['operation', 'memmap', 'raw typed array', 'ratio'],
    [
      ['`get(i)` vs `a[i]`', fmt(s.getNs), fmt(s.rawGetNs), `${fmt(s.getNs / s.rawGetNs, 1)}x`],
      ['`set(i, v)` vs `a[i] = v`', fmt(s.setNs), fmt(s.rawSetNs), `${fmt(s.setNs / s.rawSetNs, 1)}x`],
      ['`MmapCache.getOrCreate` hit', fmt(s.cacheHitNs, 0), '', ''],
    ],
  )
}

rmSync(dir, { recursive: true, force: true })
const header = `## Benchmark (node ${process.version}, numpy ${NUMPY ?? 'absent'}, ${CORES} cores)\n`
console.log(`\n${header}\n${tables.join('\n')}`)
mkdirSync(join(here, 'out'), { recursive: true })
writeFileSync(join(here, 'out', 'bench.json'), JSON.stringify(results, null, 2))
console.log(`(written to ${join('benches', 'out', 'bench.json')})`)
