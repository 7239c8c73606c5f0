// npm run demo: generate a 256 MiB float64 file through a mapping, then reopen it read-only,
// time the open, and compute statistics over it without copying it into the JS heap.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { mmapFile } from '../dist/index.mjs'

const N = 32 * 2 ** 20 // 32 Mi float64 = 256 MiB
const dir = mkdtempSync(join(tmpdir(), 'memmap-demo-'))
const path = join(dir, 'data.f64')
const ms = (t0) => (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(2)
const mib = (b) => (b / 2 ** 20).toFixed(1)

try {
  writeFileSync(path, new Uint8Array(0))
  let t = process.hrtime.bigint()
  {
    // Grow the file, then fill it through a read-write map.
    const { truncateSync } = await import('node:fs')
    truncateSync(path, N * 8)
    const out = mmapFile(path, { mode: 'r+' })
    const a = new Float64Array(out.bytes.buffer)
    let x = 12345
    for (let i = 0; i < N; i++) {
      x = (x * 1103515245 + 12345) % 2147483648
      a[i] = x / 2147483648 - 0.5
    }
    out.flush()
    out.close() // (TypeScript: `using out = ...` closes at block end)
  }
  console.log(`wrote ${mib(N * 8)} MiB of float64 through a mapping in ${ms(t)} ms`)

  const rss0 = process.memoryUsage().rss
  t = process.hrtime.bigint()
  const data = mmapFile(path) // mode 'r'
  console.log(`opened read-only in ${ms(t)} ms; RSS grew ${mib(process.memoryUsage().rss - rss0)} MiB`)

  data.advise('sequential')
  t = process.hrtime.bigint()
  const a = new Float64Array(data.bytes.buffer)
  let sum = 0
  let sq = 0
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < a.length; i++) {
    const v = a[i]
    sum += v
    sq += v * v
    if (v < min) min = v
    if (v > max) max = v
  }
  const mean = sum / a.length
  const std = Math.sqrt(sq / a.length - mean * mean)
  console.log(`stats over ${a.length} values in ${ms(t)} ms:`)
  console.log({ mean, std, min, max })
  data.close()
  console.log(`after close(): the view has length ${a.length} (detached, no dangling memory)`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
