// Shared by benches/channel.mjs (the parent) and benches/channel-peer.mjs (its child process, or
// its worker thread for the MessagePort reference).
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** memmap's build: dist/ by default; CHANNEL_BENCH_DIST points at another (a patched copy, say). */
export const loadMemmap = () =>
  import(
    pathToFileURL(
      join(process.env.CHANNEL_BENCH_DIST ?? fileURLToPath(new URL('../dist', import.meta.url)), 'index.mjs'),
    ).href
  )

export const now = () => performance.now()

/** Every payload byte. */
const MARK = 0x5a

export const payload = (size) => new Uint8Array(size).fill(MARK)

/** For `serialization: 'json'`: a string of `size` ASCII characters (UTF-8: `size` bytes). */
export const text = (size) => String.fromCharCode(MARK).repeat(size)

/** CHANNEL_BENCH_TOUCH=0: receivers check a message's first and last byte only. */
const TOUCH = process.env.CHANNEL_BENCH_TOUCH !== '0'

/**
 * Whether a received message is whole: its length, its last byte and one byte in every 64, so that
 * each cache line reaches the receiver's core as it would for a receiver that uses the data.
 */
export const intact = (m, size) => {
  if (m.length !== size) return false
  const step = TOUCH ? 64 : Math.max(1, size - 1)
  let sum = 0
  let n = 0
  if (typeof m === 'string') {
    for (let i = 0; i < size; i += step, n++) sum += m.charCodeAt(i)
    return sum === n * MARK && m.charCodeAt(size - 1) === MARK
  }
  for (let i = 0; i < size; i += step, n++) sum += m[i]
  return sum === n * MARK && m[size - 1] === MARK
}

/** Senders read the clock once per batch: every 64 small messages, every large one. */
export const batchFor = (size) => (size >= 65536 ? 1 : 64)

/** Ring bytes of a memmap Channel carrying `size`-byte messages: 256 KiB, or room for 4. */
export const ringFor = (size) => Math.max(256 * 1024, 4 * (size + 4))

/** The MessagePort's flow control: at most `window` messages in flight, a credit every quarter. */
export const windowFor = (size) => Math.max(8, Math.min(8192, Math.floor((32 * 2 ** 20) / size)))

/** Unix-socket framing: a u32 little-endian length, then the bytes; length 0 ends a stream. */
export const frame = (bytes) => {
  const f = Buffer.allocUnsafe(4 + bytes.length)
  f.writeUInt32LE(bytes.length, 0)
  f.set(bytes, 4)
  return f
}
export const END_FRAME = Buffer.alloc(4)

/** Splits a byte stream into frames, concatenating chunks only once a frame is complete. */
export class FrameReader {
  #pending = []
  #have = 0
  #need = 0
  #onFrame

  constructor(onFrame) {
    this.#onFrame = onFrame
  }

  push(chunk) {
    if (this.#have > 0) {
      this.#pending.push(chunk)
      this.#have += chunk.length
      if (this.#have < this.#need) return
      chunk = Buffer.concat(this.#pending, this.#have)
      this.#pending = []
      this.#have = 0
    }
    let at = 0
    while (chunk.length - at >= 4) {
      const length = chunk.readUInt32LE(at)
      if (chunk.length - at - 4 < length) break
      this.#onFrame(chunk.subarray(at + 4, at + 4 + length))
      at += 4 + length
    }
    if (at < chunk.length) {
      const rest = chunk.subarray(at)
      this.#pending.push(rest)
      this.#have = rest.length
      this.#need = rest.length >= 4 ? 4 + rest.readUInt32LE(0) : 4
    }
  }
}
