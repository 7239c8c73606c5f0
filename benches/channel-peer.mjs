// The far end of benches/channel.mjs, one transport per process:
//   node channel-peer.mjs memmap-sync|memmap-async|memmap-poll   control over IPC, data over Channels
//   node channel-peer.mjs ipc                                     control and data over process.send
//   node channel-peer.mjs socket <path>                           control over IPC, data over a Unix socket
// or a worker thread with workerData { transport: 'port', port }: control and data over the port.
// In a ping-pong it echoes every message; in a throughput run it counts messages (checking each)
// until the end of the stream, then acknowledges with { ack: count, bad }.
import { connect } from 'node:net'
import { isMainThread, workerData } from 'node:worker_threads'

import { FrameReader, frame, intact, loadMemmap } from './channel-common.mjs'

const transport = isMainThread ? process.argv[2] : workerData.transport

if (transport.startsWith('memmap-')) await channelPeer(transport.slice('memmap-'.length))
else if (transport === 'ipc') ipcPeer()
else if (transport === 'socket') socketPeer(process.argv[3])
else if (transport === 'port') portPeer(workerData.port)
else throw new Error(`unknown transport ${transport}`)

/** Reports this process's CPU time (the parent tells the machine's other load from it), then exits. */
function exit() {
  process.send({ cpu: process.cpuUsage() }, () => process.exit(0))
}

async function channelPeer(kind) {
  const { Channel } = await loadMemmap()
  process.on('message', (cmd) => {
    if (cmd.cmd === 'exit') return exit()
    const fwd = Channel.open(cmd.fwd)
    const back = Channel.open(cmd.back)
    // Flushed before the session blocks the event loop.
    process.send({ ready: true }, async () => {
      if (kind === 'async') await asyncSession(cmd, fwd, back)
      else syncSession(cmd, fwd, back, kind === 'poll')
      fwd.close()
      back.close()
      process.send({ done: true })
    })
  })
  process.send({ hello: true })
}

/** Blocking recv; or busy-polling recv({ timeoutMs: 0 }), where an empty message ends the stream. */
function syncSession(cmd, fwd, back, poll) {
  const POLL = { timeoutMs: 0 }
  const next = poll
    ? () => {
        for (;;) {
          const m = fwd.recv(POLL)
          if (m !== undefined) return m.length === 0 ? undefined : m
        }
      }
    : () => fwd.recv()
  if (cmd.cmd === 'pingpong') {
    for (let m = next(); m !== undefined; m = next()) back.send(m)
    return
  }
  let count = 0
  let bad = 0
  for (let m = next(); m !== undefined; m = next()) {
    count++
    if (!intact(m, cmd.size)) bad++
  }
  back.send(JSON.stringify({ ack: count, bad }))
}

async function asyncSession(cmd, fwd, back) {
  if (cmd.cmd === 'pingpong') {
    for await (const m of fwd) await back.sendAsync(m)
    return
  }
  let count = 0
  let bad = 0
  for await (const m of fwd) {
    count++
    if (!intact(m, cmd.size)) bad++
  }
  await back.sendAsync(JSON.stringify({ ack: count, bad }))
}

/**
 * The event-driven peers: `reply` sends control messages back, `echo` a data message, `credit`
 * the MessagePort's flow control. Returns the handlers of control and data messages.
 */
function eventPeer(reply, echo, credit) {
  let mode = 'idle'
  let size = 0
  let count = 0
  let bad = 0
  let creditEvery = 0
  const onData = (m) => {
    if (mode === 'echo') return echo(m)
    count++
    if (!intact(m, size)) bad++
    if (creditEvery > 0 && count % creditEvery === 0) credit(count)
  }
  const onControl = (m) => {
    if (m.cmd === 'exit') return exit()
    if (m.cmd === 'end') {
      mode = 'idle'
      return reply({ ack: count, bad })
    }
    mode = m.cmd === 'pingpong' ? 'echo' : 'count'
    size = m.size
    count = 0
    bad = 0
    creditEvery = m.creditEvery ?? 0
    reply({ ready: true })
  }
  const onMessage = (m) => (typeof m === 'string' || ArrayBuffer.isView(m) ? onData(m) : onControl(m))
  return { onData, onControl, onMessage }
}

function ipcPeer() {
  const { onMessage } = eventPeer(
    (m) => process.send(m),
    (m) => process.send(m),
  )
  process.on('message', onMessage)
  process.send({ hello: true })
}

function socketPeer(path) {
  const sock = connect(path)
  sock.on('connect', () => {
    // Control over IPC; data, and the end of a stream (an empty frame), over the socket.
    const { onData, onControl } = eventPeer(
      (m) => process.send(m),
      (m) => sock.write(frame(m)),
    )
    const reader = new FrameReader((f) => (f.length === 0 ? onControl({ cmd: 'end' }) : onData(f)))
    sock.on('data', (chunk) => reader.push(chunk))
    process.on('message', onControl)
    process.send({ hello: true })
  })
}

function portPeer(port) {
  const { onMessage } = eventPeer(
    (m) => port.postMessage(m),
    (m) => port.postMessage(m),
    (n) => port.postMessage({ credit: n }),
  )
  port.on('message', onMessage)
  port.postMessage({ hello: true })
}
