// Message passing between two processes, every transport side by side in one run (issue #13):
//   memmap-sync    memmap Channel, blocking send/recv: a short spin, then a futex sleep
//   memmap-async   memmap Channel, sendAsync/recvAsync (the child reads with `for await`)
//   memmap-poll    memmap Channel, recv({ timeoutMs: 0 }) in a loop: busy-polling, never sleeps
//   ipc-json       process.send, serialization 'json': messages are ASCII strings of the size
//   ipc-advanced   process.send, serialization 'advanced': messages are Uint8Arrays
//   socket         a Unix domain socket (node:net), each message framed as u32 length + bytes
//   port           worker_threads MessagePort (Uint8Array, copied): IN-PROCESS, a thread, a reference
// Each transport talks to a fresh child process (a worker thread for the port); a round runs
// every transport once, and rounds rotate the order, so machine noise spreads across all of them.
//   ping-pong   64-byte messages echoed back; median and p99 of every round trip (after warm-up)
//   throughput  64 B, 4 KiB and 1 MiB messages one way for --seconds per round; the receiver
//               checks each message (its length, and a byte in every 64: each cache line) and
//               acknowledges the end (CHANNEL_BENCH_TOUCH=0: it checks the first and last byte only)
// For scale: Tachyon (C++, busy-spinning on pinned cores) reports a 56 ns round trip; memmap-poll
// is the nearest to it, memmap-sync is what the goals are about.
// Usage: npm run bench:channel [-- --quick] [--rounds 3] [--seconds 0.4] [--trips 20000]
//        [--only memmap-sync,socket]    Writes benches/out/channel.json.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'

import {
  batchFor,
  END_FRAME,
  FrameReader,
  frame,
  intact,
  loadMemmap,
  now,
  payload,
  ringFor,
  text,
  windowFor,
} from './channel-common.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const PEER = join(here, 'channel-peer.mjs')
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const quick = process.argv.includes('--quick')
const ROUNDS = Number(arg('rounds', quick ? 1 : 3))
const SECONDS = Number(arg('seconds', quick ? 0.25 : 0.4))
const TRIPS = Number(arg('trips', quick ? 3000 : 20000))
const WARM = Number(arg('warm', quick ? 500 : 1000))
const PING = 64
const SIZES = [64, 4096, 2 ** 20]

const TRANSPORTS = {
  'memmap-sync': 'memmap Channel, send/recv (spin, then sleep)',
  'memmap-async': 'memmap Channel, sendAsync/recvAsync',
  'memmap-poll': 'memmap Channel, busy-poll (timeoutMs: 0)',
  'ipc-json': "process.send, 'json' (string)",
  'ipc-advanced': "process.send, 'advanced' (Uint8Array)",
  socket: 'Unix socket, length-prefixed',
  port: 'MessagePort (in-process, worker thread)',
}
const only = arg('only')?.split(',')
const ids = Object.keys(TRANSPORTS).filter((id) => !only || only.includes(id))
if (only && ids.length !== only.length) throw new Error(`--only: transports are ${Object.keys(TRANSPORTS)}`)

const { Channel } = await loadMemmap()
if (typeof Channel !== 'function') throw new Error('dist/ has no Channel: run `npm run build:ts` first')

/** Control messages from a peer, awaited one at a time; the peer's death rejects the waiters. */
class Inbox {
  #queue = []
  #waiters = []
  #error
  push(m) {
    const w = this.#waiters.shift()
    if (w) w.resolve(m)
    else this.#queue.push(m)
  }
  fail(err) {
    this.#error = err
    for (const w of this.#waiters.splice(0)) w.reject(err)
  }
  next() {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift())
    if (this.#error) return Promise.reject(this.#error)
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }
}

function forkPeer(inbox, args, serialization, onMessage = (m) => inbox.push(m)) {
  const child = fork(PEER, args, { serialization })
  child.on('message', onMessage)
  child.on('exit', (code, signal) => inbox.fail(new Error(`peer ${args[0]} exited (${code ?? signal})`)))
  return child
}

/** Stops a child peer; its CPU time in µs. */
async function stopChild(child, inbox) {
  const exited = once(child, 'exit')
  child.send({ cmd: 'exit' })
  const { cpu } = await inbox.next()
  await exited
  return cpu.user + cpu.system
}

/** Busy and total jiffies of every CPU (Linux), to tell how busy the machine is besides this run. */
function cpuTicks() {
  try {
    const t = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number)
    const total = t.reduce((a, b) => a + b, 0)
    return { busy: total - t[3] - t[4], total }
  } catch {
    return undefined
  }
}

const secondsOf = (ms) => ms / 1000
const ackOf = (view) => JSON.parse(new TextDecoder().decode(view))

/** memmap Channel: one channel each way per session, control over IPC. */
class ChannelPeer {
  inbox = new Inbox()
  constructor(kind) {
    this.kind = kind
  }

  async start() {
    this.child = forkPeer(this.inbox, [`memmap-${this.kind}`], 'advanced')
    await this.inbox.next()
  }

  async #session(cmd, size, capacity, body) {
    const fwd = Channel.create({ capacity })
    const back = Channel.create({ capacity: 64 * 1024 })
    try {
      this.child.send({ cmd, size, fwd: fwd.path, back: back.path })
      await this.inbox.next()
      const result = await body(fwd, back)
      await this.inbox.next()
      return result
    } finally {
      fwd.unlink()
      back.unlink()
    }
  }

  /** Ends the stream: end(), or an empty message for the busy-polling peer. */
  #end(fwd) {
    if (this.kind === 'poll') fwd.send(new Uint8Array(0))
    else fwd.end()
  }

  #recv(ch) {
    if (this.kind !== 'poll') return ch.recv()
    for (;;) {
      const m = ch.recv(POLL)
      if (m !== undefined) return m
    }
  }

  pingpong(trips, warm, size) {
    return this.#session('pingpong', size, 64 * 1024, async (fwd, back) => {
      const msg = payload(size)
      const samples = new Float64Array(trips)
      for (let i = -warm; i < trips; i++) {
        const t0 = now()
        let reply
        if (this.kind === 'async') {
          await fwd.sendAsync(msg)
          reply = await back.recvAsync()
        } else {
          fwd.send(msg)
          reply = this.#recv(back)
        }
        const t = now()
        if (!intact(reply, size)) throw new Error(`${this.kind}: a bad echo`)
        if (i >= 0) samples[i] = t - t0
      }
      this.#end(fwd)
      return samples
    })
  }

  throughput(size, seconds) {
    return this.#session('tput', size, ringFor(size), async (fwd, back) => {
      const msg = payload(size)
      const batch = batchFor(size)
      const t0 = now()
      const end = t0 + seconds * 1000
      let sent = 0
      if (this.kind === 'async') {
        do {
          for (let k = 0; k < batch; k++) await fwd.sendAsync(msg)
          sent += batch
        } while (now() < end)
        fwd.end()
        const ack = ackOf(await back.recvAsync())
        return { sent, ...ack, ms: now() - t0 }
      }
      do {
        for (let k = 0; k < batch; k++) fwd.send(msg)
        sent += batch
      } while (now() < end)
      this.#end(fwd)
      const ack = ackOf(this.#recv(back))
      return { sent, ...ack, ms: now() - t0 }
    })
  }

  close() {
    return stopChild(this.child, this.inbox)
  }
}
const POLL = { timeoutMs: 0 }
const touching = process.env.CHANNEL_BENCH_TOUCH !== '0'

/** The event-driven transports: subclasses start the peer and send data, control and the end. */
class EventPeer {
  inbox = new Inbox()
  /** The reply a ping-pong awaits. */
  onData = () => {}
  message = payload

  async pingpong(trips, warm, size) {
    this.control({ cmd: 'pingpong', size })
    await this.inbox.next()
    const msg = this.message(size)
    const samples = new Float64Array(trips)
    await new Promise((resolve, reject) => {
      let i = -warm
      let t0 = now()
      this.onData = (m) => {
        const t = now()
        if (!intact(m, size)) return reject(new Error(`${this.constructor.name}: a bad echo`))
        if (i >= 0) samples[i] = t - t0
        if (++i === trips) return resolve()
        t0 = now()
        this.send(msg)
      }
      this.send(msg)
    })
    return samples
  }

  async throughput(size, seconds) {
    this.begin(size)
    this.control({ cmd: 'tput', size, creditEvery: this.creditEvery })
    await this.inbox.next()
    const msg = this.message(size)
    const batch = batchFor(size)
    const t0 = now()
    const end = t0 + seconds * 1000
    let sent = 0
    do {
      for (let k = 0; k < batch; k++) {
        const r = this.send(msg)
        if (r !== true) await r
      }
      sent += batch
    } while (now() < end)
    this.end()
    const ack = await this.inbox.next()
    return { sent, ...ack, ms: now() - t0 }
  }

  /** Before a throughput run (the MessagePort resets its flow control). */
  begin() {}
}

/** process.send both ways; send() waits, once the backlog is high, for the next message to go out. */
class IpcPeer extends EventPeer {
  #full = false
  constructor(serialization) {
    super()
    this.serialization = serialization
    if (serialization === 'json') this.message = text
  }

  async start() {
    this.child = forkPeer(this.inbox, ['ipc'], this.serialization, (m) =>
      typeof m === 'string' || ArrayBuffer.isView(m) ? this.onData(m) : this.inbox.push(m),
    )
    await this.inbox.next()
  }

  send(msg) {
    if (!this.#full) {
      this.#full = !this.child.send(msg)
      return true
    }
    this.#full = false
    return new Promise((resolve) => this.child.send(msg, () => resolve()))
  }

  control(m) {
    this.child.send(m)
  }

  end() {
    this.child.send({ cmd: 'end' })
  }

  close() {
    return stopChild(this.child, this.inbox)
  }
}

/** Data over a Unix socket (write() returning false waits for 'drain'), control over IPC. */
class SocketPeer extends EventPeer {
  async start() {
    this.path = join(tmpdir(), `memmap-bench-${process.pid}.sock`)
    rmSync(this.path, { force: true })
    this.server = createServer()
    this.server.listen(this.path)
    await once(this.server, 'listening')
    const connected = once(this.server, 'connection')
    this.child = forkPeer(this.inbox, ['socket', this.path], 'advanced')
    ;[this.sock] = await connected
    const reader = new FrameReader((f) => this.onData(f))
    this.sock.on('data', (chunk) => reader.push(chunk))
    await this.inbox.next()
  }

  send(msg) {
    return this.sock.write(frame(msg)) || once(this.sock, 'drain')
  }

  control(m) {
    this.child.send(m)
  }

  end() {
    this.sock.write(END_FRAME)
  }

  async close() {
    this.sock.destroy()
    this.server.close()
    return stopChild(this.child, this.inbox)
  }
}

/** A worker thread on a MessagePort: postMessage has no back-pressure, so the receiver grants credit. */
class PortPeer extends EventPeer {
  #sent = 0
  #acked = 0
  #window = Infinity
  #waiter = null

  async start() {
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    this.worker = new Worker(PEER, { workerData: { transport: 'port', port: port2 }, transferList: [port2] })
    this.worker.on('error', (err) => this.inbox.fail(err))
    port1.on('message', (m) => {
      if (ArrayBuffer.isView(m)) this.onData(m)
      else if (m.credit !== undefined) this.#credit(m.credit)
      else this.inbox.push(m)
    })
    await this.inbox.next()
  }

  begin(size) {
    this.#sent = 0
    this.#acked = 0
    this.#window = windowFor(size)
    this.creditEvery = this.#window / 4
  }

  #credit(n) {
    this.#acked = n
    if (this.#waiter && this.#sent - this.#acked < this.#window) {
      this.#waiter()
      this.#waiter = null
    }
  }

  send(msg) {
    this.port.postMessage(msg)
    if (++this.#sent - this.#acked < this.#window) return true
    return new Promise((resolve) => (this.#waiter = resolve))
  }

  control(m) {
    this.port.postMessage(m)
  }

  end() {
    this.port.postMessage({ cmd: 'end' })
  }

  /** The worker's CPU time is this process's. */
  async close() {
    this.port.close()
    await this.worker.terminate()
    return 0
  }
}

const makePeer = {
  'memmap-sync': () => new ChannelPeer('sync'),
  'memmap-async': () => new ChannelPeer('async'),
  'memmap-poll': () => new ChannelPeer('poll'),
  'ipc-json': () => new IpcPeer('json'),
  'ipc-advanced': () => new IpcPeer('advanced'),
  socket: () => new SocketPeer(),
  port: () => new PortPeer(),
}

// ---- the run ----
const sorted = (xs) => Float64Array.from(xs).sort()
const quantile = (s, q) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
const median = (xs) => quantile(sorted(xs), 0.5)
const started = now()
const loads = [loadavg()]
const NCPU = availableParallelism()
const raw = Object.fromEntries(
  ids.map((id) => [id, { rtt: [], others: [], tput: Object.fromEntries(SIZES.map((s) => [s, []])) }]),
)
const tripsPerRound = Math.ceil(TRIPS / ROUNDS)
for (let round = 0; round < ROUNDS; round++) {
  const order = ids.map((_, i) => ids[(i + round) % ids.length])
  for (const id of order) {
    const peer = makePeer[id]()
    const t0 = now()
    const ticks0 = cpuTicks()
    const cpu0 = process.cpuUsage()
    await peer.start()
    let childCpu = 0
    const phases = []
    try {
      const tp = now()
      raw[id].rtt.push(await peer.pingpong(tripsPerRound, WARM, PING))
      phases.push(now() - tp)
      for (const size of SIZES) {
        const r = await peer.throughput(size, SECONDS)
        phases.push(r.ms)
        if (r.ack !== r.sent || r.bad !== 0) throw new Error(`${id}: sent ${r.sent}, received ${r.ack} (${r.bad} bad)`)
        raw[id].tput[size].push({ messages: r.sent, ms: r.ms })
      }
    } finally {
      childCpu = await peer.close()
    }
    // CPUs kept busy by other processes meanwhile: all busy time, less this run's own.
    const ms = now() - t0
    const ticks1 = cpuTicks()
    const own = (childCpu + Object.values(process.cpuUsage(cpu0)).reduce((a, b) => a + b, 0)) / 1000 / ms
    const others = ticks0 && ticks1 && ((ticks1.busy - ticks0.busy) / (ticks1.total - ticks0.total)) * NCPU - own
    raw[id].others.push(others)
    process.stderr.write(
      `round ${round + 1}/${ROUNDS} ${id}: ${(ms / 1000).toFixed(1)} s ` +
        `(ping-pong, 64 B, 4 KiB, 1 MiB: ${phases.map((p) => (p / 1000).toFixed(1)).join(', ')} s), RTT median ` +
        `${(median(raw[id].rtt.at(-1)) * 1000).toFixed(1)} µs, CPUs busy with other work ${others?.toFixed(2)}\n`,
    )
  }
  loads.push(loadavg())
}

// ---- the summary ----
const summary = {}
for (const id of ids) {
  const all = new Float64Array(raw[id].rtt.reduce((n, s) => n + s.length, 0))
  raw[id].rtt.reduce((at, s) => (all.set(s, at), at + s.length), 0)
  const s = all.sort()
  const us = (q) => quantile(s, q) * 1000
  const tput = {}
  for (const size of SIZES) {
    const rates = raw[id].tput[size].map((r) => r.messages / secondsOf(r.ms))
    const msgsPerSec = median(rates)
    tput[size] = { msgsPerSec, gbPerSec: (msgsPerSec * size) / 1e9, rounds: raw[id].tput[size] }
  }
  summary[id] = {
    label: TRANSPORTS[id],
    rtt: {
      trips: s.length,
      minUs: us(0),
      medianUs: us(0.5),
      p90Us: us(0.9),
      p99Us: us(0.99),
      p999Us: us(0.999),
      roundMediansUs: raw[id].rtt.map((r) => median(r) * 1000),
    },
    tput,
    othersCpus: raw[id].others,
  }
}

const base = summary['memmap-sync']
const times = (x) => `${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2)}×`
const fmtRate = (r) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)} k` : r.toFixed(0))
const fmtUs = (u) => (u >= 100 ? u.toFixed(0) : u.toFixed(1))
const cell = (value, ratio) => (base ? `${value} (${times(ratio)})` : value)
const rows = ids.map((id) => {
  const r = summary[id]
  const t = r.tput
  return [
    r.label,
    cell(fmtUs(r.rtt.medianUs), base && r.rtt.medianUs / base.rtt.medianUs),
    fmtUs(r.rtt.p99Us),
    cell(fmtRate(t[64].msgsPerSec), base && base.tput[64].msgsPerSec / t[64].msgsPerSec),
    cell(fmtRate(t[4096].msgsPerSec), base && base.tput[4096].msgsPerSec / t[4096].msgsPerSec),
    t[4096].gbPerSec.toFixed(2),
    fmtRate(t[2 ** 20].msgsPerSec),
    cell(t[2 ** 20].gbPerSec.toFixed(2), base && base.tput[2 ** 20].gbPerSec / t[2 ** 20].gbPerSec),
    r.othersCpus.every((x) => x !== undefined) ? median(r.othersCpus).toFixed(2) : '?',
  ]
})

const goals = []
if (base) {
  /** How many times faster memmap's round trip is than the fastest of `rivals` present. */
  const fasterThan = (rivals) => {
    const present = rivals.filter((id) => summary[id])
    if (present.length === 0) return undefined
    return Math.min(...present.map((id) => summary[id].rtt.medianUs)) / base.rtt.medianUs
  }
  const goal = (what, value, target, met) => goals.push({ what, value, target, met })
  goal('round trip median, sleeping waits', `${fmtUs(base.rtt.medianUs)} µs`, '≤ 10 µs', base.rtt.medianUs <= 10)
  const sock = fasterThan(['socket'])
  if (sock !== undefined) goal('round trip vs Unix socket', times(sock), '≥ 5× faster', sock >= 5)
  const ipc = fasterThan(['ipc-json', 'ipc-advanced'])
  if (ipc !== undefined) goal('round trip vs process.send (the faster)', times(ipc), '≥ 10× faster', ipc >= 10)
  const m64 = base.tput[64].msgsPerSec
  goal('64 B one way', `${fmtRate(m64)} msg/s`, '≥ 2 M msg/s', m64 >= 2e6)
  const g1m = base.tput[2 ** 20].gbPerSec
  goal('1 MiB one way', `${g1m.toFixed(2)} GB/s`, '≥ 3 GB/s', g1m >= 3)
}

const seconds = (now() - started) / 1000
const fmtLoad = (l) => l.map((x) => x.toFixed(2)).join(' ')
console.log(
  `\nMessages between two processes (node ${process.version}, ${availableParallelism()} CPUs: ${cpus()[0]?.model}; ` +
    `${ROUNDS} round(s), ${seconds.toFixed(0)} s)\n` +
    `Load average (1, 5, 15 min) at the start ${fmtLoad(loads[0])}, at the end ${fmtLoad(loads.at(-1))}.\n` +
    `Round trip: ${PING}-byte messages, ${summary[ids[0]].rtt.trips} trips per transport after ${WARM} warm-up per round.\n` +
    `One way: ${SECONDS} s per size per round, median of rounds. In parentheses: how many times faster ` +
    `memmap Channel send/recv is than the row. Other load: CPUs (of ${NCPU}) busy with other processes meanwhile, median of rounds.\n`,
)
const header = [
  'transport',
  'RTT median µs',
  'RTT p99 µs',
  '64 B msg/s',
  '4 KiB msg/s',
  '4 KiB GB/s',
  '1 MiB msg/s',
  '1 MiB GB/s',
  'other load',
]
console.log(`| ${header.join(' | ')} |`)
console.log(`| --- |${' ---: |'.repeat(header.length - 1)}`)
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
if (goals.length > 0) {
  console.log('\nGoals (memmap Channel, blocking send/recv):')
  for (const g of goals) console.log(`- ${g.what}: ${g.value} (goal ${g.target}): ${g.met ? 'met' : 'NOT met'}`)
  const busy = median(base.othersCpus)
  if (busy >= 0.5) {
    console.log(
      `- Caution: other processes kept ${busy.toFixed(2)} of ${NCPU} CPUs busy during these runs; rerun on an idle ` +
        'machine before reading the absolute numbers.',
    )
  }
}
console.log(
  `\nNotes: receivers check each message's length and ${touching ? 'one byte in every 64 (each cache line)' : 'first and last byte'}; memmap hands ` +
    "out views into the ring (zero-copy), the others copy. Channel rings: 256 KiB (1 MiB messages: 4 MiB). 'json' " +
    'sends ASCII strings of the size; the socket frames a copy of each message; the MessagePort copies ' +
    'Uint8Arrays (structured clone) within one process, with credit-based flow control. For scale, Tachyon ' +
    '(C++, busy-spinning, pinned cores) reports a 56 ns round trip.',
)

mkdirSync(join(here, 'out'), { recursive: true })
writeFileSync(
  join(here, 'out', 'channel.json'),
  JSON.stringify(
    {
      node: process.version,
      cpus: availableParallelism(),
      cpu: cpus()[0]?.model,
      config: { rounds: ROUNDS, seconds: SECONDS, trips: TRIPS, warm: WARM, ping: PING, sizes: SIZES },
      loadavg: loads,
      seconds,
      summary,
      goals,
    },
    null,
    2,
  ),
)
