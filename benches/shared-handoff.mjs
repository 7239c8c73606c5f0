// Handing a 256 MiB float64 array to a forked child that sums it, three ways, side by side:
//   memmap        SharedMemoryArray: the child opens the region by path (zero-copy)
//   send          child.send(array) with serialization: 'advanced' (structured clone over IPC)
//   shm-typed     the shm-typed-array package (POSIX shared memory)
// Each run is a fresh parent process (so peak RSS is its own); methods are interleaved and
// repeated, and the table gives medians and ratios to memmap.
// Usage: node benches/shared-handoff.mjs [--mib 256] [--runs 5]
import { fork, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const MIB = Number(arg('mib', 256))
const N = (MIB * 2 ** 20) / 8
const role = arg('role')
const method = arg('method')

const sumLoop = (a) => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]
  return s
}
const fillValues = (a) => {
  for (let i = 0; i < a.length; i++) a[i] = i % 1000
}
const expected = (() => {
  const full = Math.floor(N / 1000)
  let s = full * 499500
  for (let i = 0; i < N % 1000; i++) s += i
  return s
})()
const maxRssMiB = () => process.resourceUsage().maxRSS / 1024

if (role === 'child') {
  // Both libraries are loaded before the clock starts: only the handoff and the sum are timed.
  const shm = createRequire(import.meta.url)('shm-typed-array')
  const { SharedMemoryArray } = await import('../dist/index.mjs')
  process.on('message', (msg) => {
    if (msg === 'ping') return process.send('ready')
    let sum
    if (msg.method === 'memmap') {
      const arr = SharedMemoryArray.open(msg.path, { shape: msg.shape, dtype: msg.dtype })
      sum = sumLoop(arr.array)
      arr.close()
    } else if (msg.method === 'send') {
      sum = sumLoop(msg.data)
    } else {
      const a = shm.getPosix(msg.name, 'Float64Array')
      sum = sumLoop(a)
      shm.detachPosix(msg.name)
    }
    process.send({ sum, childMaxRss: maxRssMiB() })
  })
} else if (role === 'parent') {
  const child = fork(fileURLToPath(import.meta.url), ['--role', 'child', '--mib', String(MIB)], {
    serialization: 'advanced',
  })
  const next = () => new Promise((done) => child.once('message', done))
  child.send('ping')
  await next()
  let msg
  let cleanup = () => {}
  if (method === 'memmap') {
    const { SharedMemoryArray } = await import('../dist/index.mjs')
    const shm = SharedMemoryArray.create({ shape: [N], dtype: 'float64' })
    fillValues(shm.array)
    msg = { method, path: shm.path, shape: [...shm.shape], dtype: shm.dtype }
    cleanup = () => shm.unlink()
  } else if (method === 'send') {
    const data = new Float64Array(N)
    fillValues(data)
    msg = { method, data }
  } else {
    const shm = createRequire(import.meta.url)('shm-typed-array')
    const name = `/memmap-bench-${process.pid}`
    const a = shm.createPosix(name, N, 'Float64Array', '600')
    fillValues(a)
    msg = { method, name }
    cleanup = () => shm.destroy(name)
  }
  const t0 = process.hrtime.bigint()
  child.send(msg)
  const reply = await next()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  cleanup()
  child.kill()
  if (reply.sum !== expected) throw new Error(`${method}: child summed ${reply.sum}, expected ${expected}`)
  console.log(JSON.stringify({ method, ms, parentMaxRss: maxRssMiB(), childMaxRss: reply.childMaxRss }))
} else {
  const runs = Number(arg('runs', 5))
  const methods = ['memmap', 'send', 'shm-typed']
  const results = Object.fromEntries(methods.map((m) => [m, []]))
  for (let r = 0; r < runs; r++) {
    for (const m of methods) {
      const p = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), '--role', 'parent', '--method', m, '--mib', String(MIB)],
        {
          encoding: 'utf8',
        },
      )
      if (p.status !== 0) throw new Error(`${m} failed:\n${p.stderr}`)
      results[m].push(JSON.parse(p.stdout.trim().split('\n').pop()))
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const row = (m) => ({
    method: m,
    ms: median(results[m].map((x) => x.ms)),
    parentMaxRss: median(results[m].map((x) => x.parentMaxRss)),
    childMaxRss: median(results[m].map((x) => x.childMaxRss)),
  })
  const rows = methods.map(row)
  const base = rows[0].ms
  console.log(
    `\nHand a ${MIB} MiB float64 array to a forked child, which sums it (median of ${runs} runs, node ${process.version})\n`,
  )
  console.log('| method | wall time (ms) | time vs memmap | parent peak RSS (MiB) | child peak RSS (MiB) |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const r of rows) {
    console.log(
      `| ${r.method} | ${r.ms.toFixed(1)} | ${(r.ms / base).toFixed(2)}x | ${r.parentMaxRss.toFixed(0)} | ${r.childMaxRss.toFixed(0)} |`,
    )
  }
  mkdirSync(join(here, 'out'), { recursive: true })
  writeFileSync(
    join(here, 'out', 'shared-handoff.json'),
    JSON.stringify({ mib: MIB, runs, node: process.version, rows, raw: results }, null, 2),
  )
}
