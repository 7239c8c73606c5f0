// npm run demo: the package's main job, end to end.
// 1. Build a 256 MiB float64 dataset through a mapping (no 256 MiB buffer in the JS heap).
// 2. Reopen it read-only: time the open, RSS before/after, statistics straight off the pages.
// 3. Save it as .npy and map it back with the dtype and shape from its header.
// 4. An LRU cache of open arrays.
// 5. Fan work out to forked processes over one shared array: no copies, no serialization.
// 6. A real-time pipeline: a producer process and a consumer process over a Channel.
// 7. Model weights in place: a bfloat16/float16 safetensors file, opened lazily, one tensor reduced.
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import {
  Channel,
  MmapArray,
  MmapCache,
  openNpy,
  openSafetensors,
  saveNpy,
  saveSafetensors,
  SharedMemoryArray,
} from '../dist/index.mjs'

const ROWS = 4096
const COLS = 8192 // 32 Mi float64 = 256 MiB
const dir = mkdtempSync(join(tmpdir(), 'memmap-demo-'))
const path = join(dir, 'data.f64')
const ms = (t0) => `${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(2)} ms`
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`

try {
  let t = process.hrtime.bigint()
  const out = MmapArray.create(path, { shape: [ROWS, COLS], dtype: 'float64' })
  const flat = out.array
  let x = 12345
  for (let i = 0; i < flat.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    flat[i] = x / 2 ** 32 - 0.5
  }
  out.flush()
  out.close() // in TypeScript: `using out = MmapArray.create(...)` closes at block end
  console.log(`created ${path}: [${ROWS}, ${COLS}] float64, ${mib(ROWS * COLS * 8)}, filled and flushed in ${ms(t)}`)

  const rss0 = process.memoryUsage().rss
  t = process.hrtime.bigint()
  const data = MmapArray.open(path, { shape: [ROWS, COLS], mode: 'r' })
  console.log(`opened read-only in ${ms(t)}; RSS grew by ${mib(process.memoryUsage().rss - rss0)} (nothing copied)`)

  data.advise('sequential')
  for (const stat of ['sum', 'mean', 'std', 'min', 'max']) {
    t = process.hrtime.bigint()
    const v = data[stat]()
    console.log(`  ${stat.padEnd(4)} = ${String(v).padEnd(22)} ${ms(t)}`)
  }
  console.log(`  row 100, col 200 = ${data.get(100, 200)}; last row starts with ${data.slice(-1)[0]}`)

  const npy = join(dir, 'data.npy')
  t = process.hrtime.bigint()
  saveNpy(npy, data)
  console.log(`saved ${npy} in ${ms(t)} (numpy.load(path, mmap_mode='r') reads it)`)
  const view = openNpy(npy)
  console.log(
    `openNpy: dtype ${view.dtype}, shape [${view.shape}], equal first value: ${view.get(0, 0) === data.get(0, 0)}`,
  )

  const cache = new MmapCache({ maxSize: 2 })
  const a = cache.getOrCreate(path, { shape: [ROWS, COLS] })
  console.log(`cache: second lookup returns the same array: ${cache.getOrCreate(path, { shape: [ROWS, COLS] }) === a}`)
  cache.clear()

  const rows = data.slice(0, 2)
  data.close()
  view.close()
  console.log(
    `after close(): a slice taken earlier has length ${rows.length}; data.sum() throws ${tryCode(() => data.sum())}`,
  )

  const WORKERS = 4
  const shared = SharedMemoryArray.create({ shape: [WORKERS, 2_000_000], dtype: 'float64' })
  t = process.hrtime.bigint()
  const worker = new URL('./fanout-worker.mjs', import.meta.url)
  const done = await Promise.all(
    Array.from({ length: WORKERS }, (_, row) => {
      const child = fork(worker, [shared.path, JSON.stringify(shared.shape), shared.dtype, String(row)])
      return new Promise((resolve, reject) => {
        child.once('message', resolve)
        child.once('exit', (code) => code !== 0 && reject(new Error(`worker ${row} exited ${code}`)))
      })
    }),
  )
  const n = shared.size
  console.log(
    `fan-out: ${WORKERS} forked workers (pids ${done.map((d) => d.pid).join(', ')}) filled ${shared.path} ` +
      `([${shared.shape}] float64) in ${ms(t)}; the parent sees it without copying: ` +
      `sum = ${shared.sum().toFixed(1)}, last = ${shared.get(-1, -1).toFixed(4)} (expected ${Math.sqrt(n - 1).toFixed(4)})`,
  )
  shared.unlink()

  // Frames of 64 KiB float32 through a 1 MiB ring. Frames are 4 bytes apart from 64 KiB (the
  // framing), so they wrap around the ring's end and some reach the consumer as copies.
  const FRAMES = 2000
  const ch = Channel.create({ capacity: 2 ** 20 })
  t = process.hrtime.bigint()
  const consumer = fork(new URL('./pipeline-consumer.mjs', import.meta.url), [ch.path])
  const got = new Promise((resolve, reject) => {
    consumer.once('message', resolve)
    consumer.once('exit', (code) => code !== 0 && reject(new Error(`consumer exited ${code}`)))
  })
  const producer = fork(new URL('./pipeline-producer.mjs', import.meta.url), [ch.path, String(FRAMES)])
  await new Promise((resolve) => producer.once('exit', resolve))
  const r = await got
  const secs = Number(process.hrtime.bigint() - t) / 1e9
  console.log(
    `pipeline: producer pid ${producer.pid} -> consumer pid ${consumer.pid} through ${ch.path}: ` +
      `${r.frames} of ${FRAMES} frames, in order: ${r.inOrder}, ${mib((FRAMES * 65536) / secs)}/s ` +
      `including both processes' start-up (energy ${r.energy.toFixed(1)})`,
  )
  ch.unlink()

  // A small transformer-shaped checkpoint: 2 layers of bfloat16 weights and float16 norms.
  const model = join(dir, 'model.safetensors')
  const tensors = { 'embed.weight': { dtype: 'bfloat16', shape: [8192, 1024], data: ramp(8192 * 1024) } }
  for (let l = 0; l < 2; l++) {
    for (const w of ['q', 'k', 'v', 'o']) {
      tensors[`layers.${l}.attn.${w}.weight`] = { dtype: 'bfloat16', shape: [1024, 1024], data: ramp(1024 * 1024) }
    }
    tensors[`layers.${l}.norm.weight`] = { dtype: 'float16', shape: [1024], data: new Float32Array(1024).fill(1) }
  }
  t = process.hrtime.bigint()
  saveSafetensors(model, tensors, { metadata: { format: 'pt', source: 'memmap demo' } })
  console.log(`saved ${model} (${Object.keys(tensors).length} tensors, bfloat16 and float16) in ${ms(t)}`)
  const rss1 = process.memoryUsage().rss
  t = process.hrtime.bigint()
  const weights = openSafetensors(model)
  const views = weights.names().map((name) => weights.tensor(name))
  console.log(
    `openSafetensors + a view of all ${views.length} tensors in ${ms(t)}; RSS grew by ` +
      `${mib(process.memoryUsage().rss - rss1)}; metadata ${JSON.stringify(weights.metadata)}`,
  )
  const embed = weights.tensor('embed.weight')
  t = process.hrtime.bigint()
  console.log(
    `  embed.weight: ${embed.dtype} [${embed.shape}], mean ${embed.mean().toFixed(4)} (native, ${ms(t)}), ` +
      `embed[3, 5] = ${embed.get(3, 5)}, .array is a ${embed.array.constructor.name} of the raw bits`,
  )
  weights.close() // closes every tensor taken from it
} finally {
  rmSync(dir, { recursive: true, force: true })
}

/** n values in [-1, 1): deterministic, so the demo prints the same numbers each run. */
function ramp(n) {
  const a = new Float32Array(n)
  for (let i = 0; i < n; i++) a[i] = ((i * 7919) % 2048) / 1024 - 1
  return a
}

function tryCode(fn) {
  try {
    fn()
    return 'nothing'
  } catch (err) {
    return err.code
  }
}
