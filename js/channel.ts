import { readFileSync } from 'node:fs'

import { invalidArg, mmapError } from './errors.js'
import { SharedMemoryArray } from './shared.js'
import { describe, options, size, type PathLike } from './validate.js'

export interface ChannelCreateOptions {
  /** Bytes of ring: the largest message is this minus 4 bytes of framing (rounded down to 4). */
  capacity: number
  /** The region's name, as for `SharedMemoryArray.create`; default: a random one. */
  name?: string
}

export interface ChannelWaitOptions {
  /** How long to wait for room (send) or a message (recv); default: for ever. 0: do not wait. */
  timeoutMs?: number
}

/** What `send` takes: bytes (any typed array, DataView or ArrayBuffer) or a string, sent as UTF-8. */
export type ChannelMessage = ArrayBufferView | ArrayBuffer | string

// The ring's header, in int32 slots. The writer's and the reader's words sit on separate cache
// lines (64 bytes apart) so that the two sides do not slow each other down.
const MAGIC = 0
const VERSION = 1
const CAPACITY = 2
const RING = 3
const HEAD = 16 // writer: where the next record goes, in [0, 2 * ring)
const WRITE_SEQ = 17 // writer: +1 on every record published and on end()
const WRITER_PID = 18
const ENDED = 19
const READER_WAITING = 20
const TAIL = 32 // reader: the first record not yet released, in [0, 2 * ring)
const READ_SEQ = 33 // reader: +1 on every record released
const READER_PID = 34
const WRITER_WAITING = 35
const HEADER_BYTES = 256
const MAGIC_WORD = 0x4843_4d4d // 'MMCH' little-endian
const FORMAT_VERSION = 1
const MAX_CAPACITY = 2 ** 30
/** A waiting side checks that the other process is alive this often. */
const PEER_CHECK_MS = 100
/**
 * Polls of the other side's position before a wait goes to sleep (about 40 µs here): a reply
 * often comes within them. The budget adapts: halved (down to `MIN_SPINS`) after a spin that
 * ended asleep, as when the other process has no CPU to run on and spinning only delays it, and
 * back to `SPINS` after a spin that found its message; every 32nd wait spins in full, to notice
 * that the other side is quick again.
 */
const SPINS = 2000
const MIN_SPINS = 16
/** Turns of the event loop `sendAsync`/`recvAsync` give the other side before they sleep. */
const ASYNC_POLLS = 64

const align4 = (n: number): number => (n + 3) & ~3

/** Whether process `pid` is running (not exited, not a zombie awaiting its parent). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  if (process.platform !== 'linux') return true
  try {
    // A process killed by a signal stays a zombie until its parent reaps it, and a parent blocked
    // in recv() does not: /proc tells the two apart.
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}

/**
 * A ring of messages in shared memory between two processes: one writer and one reader at a
 * time. `send` copies a message in once; `recv` hands out a view into the ring (no copy), valid
 * until the next `recv`. Waiting sleeps on the shared memory (`wait`/`notify` across processes)
 * after a short spin, and ends with `ERR_MMAP_PEER_GONE` if the other process dies meanwhile.
 */
export class Channel implements Disposable, AsyncIterable<Uint8Array> {
  readonly #region: SharedMemoryArray<'int32'>
  readonly #words: Int32Array
  readonly #bytes: Uint8Array
  readonly #capacity: number
  /** Bytes of ring: the capacity rounded up to a multiple of 4, so that lengths never wrap. */
  readonly #ring: number
  /** Bytes of the record `recv` handed out last, released at the next `recv`. */
  #held = 0
  #role: { writer: boolean; reader: boolean } = { writer: false, reader: false }
  /** This side's spin budget (see `SPINS`), and its waits so far. */
  #spins = SPINS
  #waits = 0

  private constructor(region: SharedMemoryArray<'int32'>) {
    this.#region = region
    const words = region.array
    this.#words = words
    const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength)
    const fail = (what: string): never => {
      region.close()
      throw mmapError('ERR_MMAP_FORMAT', `not a memmap channel: ${what}`, region.path)
    }
    if (bytes.length < HEADER_BYTES) fail(`${bytes.length} bytes is smaller than a channel's header`)
    if (words[MAGIC] !== MAGIC_WORD) fail('the magic number is wrong')
    if (words[VERSION] !== FORMAT_VERSION) fail(`format version ${words[VERSION]}, this memmap reads ${FORMAT_VERSION}`)
    const capacity = words[CAPACITY]
    const ring = words[RING]
    if (!(
      capacity > 0 &&
      capacity <= MAX_CAPACITY &&
      ring === align4(capacity) &&
      HEADER_BYTES + ring === bytes.length
    )) {
      fail(`capacity ${capacity} and ring ${ring} do not fit a region of ${bytes.length} bytes`)
    }
    this.#capacity = capacity
    this.#ring = ring
    this.#bytes = bytes.subarray(HEADER_BYTES)
  }

  /** A new channel in a new shared-memory region; another process opens it by `path`. */
  static create(opts: ChannelCreateOptions): Channel {
    const o = options(opts, 'Channel.create')
    const capacity = size('capacity', o.capacity)
    if (capacity < 8 || capacity > MAX_CAPACITY) {
      throw invalidArg(`capacity must be 8 bytes to 1 GiB, got ${describe(o.capacity)}`)
    }
    const ring = align4(capacity)
    const region = SharedMemoryArray.create({
      shape: [(HEADER_BYTES + ring) / 4],
      dtype: 'int32',
      ...(o.name === undefined ? {} : { name: o.name }),
    })
    const w = region.array
    w[CAPACITY] = capacity
    w[RING] = ring
    w[VERSION] = FORMAT_VERSION
    Atomics.store(w, MAGIC, MAGIC_WORD)
    return new Channel(region)
  }

  /** Opens the channel at `path` (`ch.path` of the process that created it, or its bare name). */
  static open(path: PathLike): Channel {
    const region = SharedMemoryArray.open(path, { dtype: 'int32' })
    if (region.byteLength < HEADER_BYTES) {
      region.close()
      throw mmapError('ERR_MMAP_FORMAT', `not a memmap channel: ${region.byteLength} bytes`, region.path)
    }
    return new Channel(region)
  }

  /** The shared-memory region: what `Channel.open` takes. */
  get path(): string {
    return this.#region.path
  }

  /** Bytes of ring, as asked for. */
  get capacity(): number {
    return this.#capacity
  }

  get closed(): boolean {
    return this.#region.closed
  }

  /**
   * Sends one message, waiting while the ring is full: `true` once it is queued, `false` if
   * `timeoutMs` passed first. A message larger than the ring is `ERR_MMAP_INVALID_ARG`.
   */
  send(message: ChannelMessage, opts?: ChannelWaitOptions): boolean {
    const bytes = this.#encode(message)
    const need = align4(4 + bytes.length)
    const deadline = this.#deadline(opts)
    const budget = this.#budget()
    for (let spins = 0; ; spins++) {
      const head = this.#position(HEAD)
      if (this.#ring - this.#used(head, this.#position(TAIL)) >= need) {
        this.#write(head, bytes, need)
        if (spins <= budget) this.#spins = SPINS
        return true
      }
      if (deadline === 0) return false
      if (spins < budget) continue
      if (spins === budget) this.#spins = Math.max(MIN_SPINS, this.#spins >> 1)
      const r = this.#sleep(
        READ_SEQ,
        WRITER_WAITING,
        () => this.#ring - this.#used(head, this.#position(TAIL)) >= need,
        deadline,
        READER_PID,
      )
      if (r === 'timed-out') return false
    }
  }

  /** `send` without blocking the event loop. */
  async sendAsync(message: ChannelMessage, opts?: ChannelWaitOptions): Promise<boolean> {
    const bytes = this.#encode(message)
    const need = align4(4 + bytes.length)
    const deadline = this.#deadline(opts)
    for (let polls = 0; ; polls++) {
      const head = this.#position(HEAD)
      if (this.#ring - this.#used(head, this.#position(TAIL)) >= need) {
        this.#write(head, bytes, need)
        return true
      }
      if (deadline === 0) return false
      if (polls < ASYNC_POLLS) {
        await new Promise(setImmediate)
        this.#live()
        continue
      }
      const r = await this.#sleepAsync(
        READ_SEQ,
        WRITER_WAITING,
        () => this.#ring - this.#used(head, this.#position(TAIL)) >= need,
        deadline,
        READER_PID,
      )
      if (r === 'timed-out') return false
    }
  }

  /**
   * The next message, waiting while the ring is empty: a view into the ring, valid until the
   * next `recv` (`.slice()` it to keep it). `undefined` once the writer has called `end()` and
   * every message is read, or when `timeoutMs` passes first.
   */
  recv(opts?: ChannelWaitOptions): Uint8Array | undefined {
    const deadline = this.#deadline(opts)
    const tail = this.#release()
    const budget = this.#budget()
    for (let spins = 0; ; spins++) {
      const head = this.#position(HEAD)
      if (head !== tail) {
        if (spins <= budget) this.#spins = SPINS
        return this.#take(head, tail)
      }
      if (this.#ended(tail) || deadline === 0) return undefined
      if (spins < budget) continue
      if (spins === budget) this.#spins = Math.max(MIN_SPINS, this.#spins >> 1)
      const r = this.#sleep(
        WRITE_SEQ,
        READER_WAITING,
        () => this.#position(HEAD) !== tail || this.#ended(tail),
        deadline,
        WRITER_PID,
      )
      if (r === 'timed-out') return undefined
    }
  }

  /** `recv` without blocking the event loop. */
  async recvAsync(opts?: ChannelWaitOptions): Promise<Uint8Array | undefined> {
    const deadline = this.#deadline(opts)
    const tail = this.#release()
    for (let polls = 0; ; polls++) {
      const head = this.#position(HEAD)
      if (head !== tail) return this.#take(head, tail)
      if (this.#ended(tail) || deadline === 0) return undefined
      if (polls < ASYNC_POLLS) {
        await new Promise(setImmediate)
        this.#live()
        continue
      }
      const r = await this.#sleepAsync(
        WRITE_SEQ,
        READER_WAITING,
        () => this.#position(HEAD) !== tail || this.#ended(tail),
        deadline,
        WRITER_PID,
      )
      if (r === 'timed-out') return undefined
    }
  }

  /** Every message until the writer's `end()`: `for await (const msg of ch)`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const msg = await this.recvAsync()
      if (msg === undefined) return
      yield msg
    }
  }

  /** No more messages: the reader drains what is queued, then `recv` returns `undefined`. */
  end(): void {
    this.#claim('writer')
    Atomics.store(this.#words, ENDED, 1)
    Atomics.add(this.#words, WRITE_SEQ, 1)
    this.#region.notify(WRITE_SEQ)
  }

  /**
   * Unmaps this process's view; the region and its queued messages stay for the other side. The
   * message `recv` handed out last counts as read (a reader that dies without `close()` leaves it
   * queued: the next reader gets it again).
   */
  close(): void {
    if (this.#region.closed) return
    if (this.#held > 0) this.#release()
    this.#region.close()
  }

  /** Closes, and removes the region's name: no process can open the channel any more. */
  unlink(): void {
    this.#region.unlink()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  #encode(message: unknown): Uint8Array {
    this.#live()
    this.#claim('writer')
    let bytes: Uint8Array
    if (message instanceof Uint8Array) bytes = message
    else if (typeof message === 'string') bytes = Buffer.from(message, 'utf8')
    else if (message instanceof ArrayBuffer) bytes = new Uint8Array(message)
    else if (ArrayBuffer.isView(message)) bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength)
    else
      throw invalidArg(
        `a message must be a string, an ArrayBuffer or a typed array, got ${describe(message)}`,
        this.path,
      )
    if (align4(4 + bytes.length) > this.#ring) {
      throw invalidArg(
        `a message of ${bytes.length} bytes does not fit a ring of ${this.#capacity} bytes (at most ${this.#ring - 4})`,
        this.path,
      )
    }
    return bytes
  }

  /** Polls before this wait sleeps: the adapted budget, or in full every 32nd wait. */
  #budget(): number {
    return (++this.#waits & 31) === 0 ? SPINS : this.#spins
  }

  #deadline(opts: ChannelWaitOptions | undefined): number {
    if (opts === undefined) return Infinity
    const o = options(opts, 'Channel')
    const t = o.timeoutMs ?? Infinity
    if (typeof t !== 'number' || !(t >= 0)) {
      throw invalidArg(`timeoutMs must be a non-negative number or Infinity, got ${describe(t)}`, this.path)
    }
    return t === Infinity ? Infinity : t === 0 ? 0 : performance.now() + t
  }

  #live(): void {
    if (this.#region.closed) throw mmapError('ERR_MMAP_CLOSED', 'the channel is closed', this.path)
  }

  /** This process becomes the channel's writer (or reader) unless another live process is. */
  #claim(role: 'writer' | 'reader'): void {
    if (this.#role[role]) return
    this.#live()
    const slot = role === 'writer' ? WRITER_PID : READER_PID
    for (;;) {
      const was = Atomics.compareExchange(this.#words, slot, 0, process.pid)
      if (was === 0 || was === process.pid) break
      if (alive(was)) {
        throw invalidArg(
          `process ${was} is this channel's ${role}: one writer and one reader at a time (README, Channel)`,
          this.path,
        )
      }
      if (Atomics.compareExchange(this.#words, slot, was, process.pid) === was) break
    }
    this.#role[role] = true
  }

  /** HEAD or TAIL, checked: a ring written by something else is ERR_MMAP_FORMAT, never a crash. */
  #position(slot: number): number {
    const p = Atomics.load(this.#words, slot)
    if (!(p >= 0 && p < 2 * this.#ring && (p & 3) === 0)) this.#corrupt(`${slot === HEAD ? 'head' : 'tail'} ${p}`)
    return p
  }

  #used(head: number, tail: number): number {
    const used = (head - tail + 2 * this.#ring) % (2 * this.#ring)
    if (used > this.#ring) this.#corrupt(`head ${head} and tail ${tail} are more than the ring apart`)
    return used
  }

  #corrupt(what: string): never {
    throw mmapError('ERR_MMAP_FORMAT', `the channel's ring is corrupted: ${what}`, this.path)
  }

  /** Whether the writer has ended and the ring is drained (read after END: no record slips by). */
  #ended(tail: number): boolean {
    return Atomics.load(this.#words, ENDED) === 1 && this.#position(HEAD) === tail
  }

  /** Writes a record at `head` and publishes it. */
  #write(head: number, bytes: Uint8Array, need: number): void {
    const ring = this.#ring
    const at = head % ring
    this.#words[(HEADER_BYTES + at) / 4] = bytes.length
    const start = (at + 4) % ring
    const first = Math.min(bytes.length, ring - start)
    this.#bytes.set(first === bytes.length ? bytes : bytes.subarray(0, first), start)
    if (first < bytes.length) this.#bytes.set(bytes.subarray(first), 0)
    Atomics.store(this.#words, HEAD, (head + need) % (2 * ring))
    this.#wake(READER_WAITING, WRITE_SEQ)
  }

  /**
   * Wakes the other side if it said it sleeps (`waitingSlot`), once: it moves `seq`, which the
   * sleeper's wait compares against, and notifies. A sleeper that set its flag after this looked
   * sees the new position when it checks again before sleeping (every step is sequentially
   * consistent), so no wake-up is lost.
   */
  #wake(waitingSlot: number, seq: number): void {
    if (Atomics.load(this.#words, waitingSlot) !== 0 && Atomics.exchange(this.#words, waitingSlot, 0) !== 0) {
      Atomics.add(this.#words, seq, 1)
      this.#region.notify(seq)
    }
  }

  /** Releases the record `recv` handed out last; returns the tail after it. */
  #release(): number {
    this.#live()
    this.#claim('reader')
    let tail = this.#position(TAIL)
    if (this.#held > 0) {
      tail = (tail + this.#held) % (2 * this.#ring)
      this.#held = 0
      Atomics.store(this.#words, TAIL, tail)
      this.#wake(WRITER_WAITING, READ_SEQ)
    }
    return tail
  }

  /** The record at `tail`: a view into the ring, or a copy where it wraps around the end. */
  #take(head: number, tail: number): Uint8Array {
    const ring = this.#ring
    const at = tail % ring
    const length = this.#words[(HEADER_BYTES + at) / 4]
    const need = align4(4 + length)
    if (!(length >= 0 && need <= this.#used(head, tail))) {
      this.#corrupt(`a record of ${length} bytes at ${at} with ${this.#used(head, tail)} bytes queued`)
    }
    this.#held = need
    const start = (at + 4) % ring
    if (start + length <= ring) return this.#bytes.subarray(start, start + length)
    const out = new Uint8Array(length)
    out.set(this.#bytes.subarray(start, ring))
    out.set(this.#bytes.subarray(0, length - (ring - start)), ring - start)
    return out
  }

  /**
   * Sleeps until `seq` moves (the other side made progress), `ready()` holds, or `deadline`
   * passes; every `PEER_CHECK_MS` it checks that the process in `peerSlot` is alive.
   */
  #sleep(
    seq: number,
    waitingSlot: number,
    ready: () => boolean,
    deadline: number,
    peerSlot: number,
  ): 'ok' | 'timed-out' {
    for (;;) {
      const slice = this.#arm(seq, waitingSlot, ready, deadline)
      if (typeof slice === 'string') return slice
      const woke = this.#disarm(this.#region.wait(seq, this.#seen, slice), waitingSlot, peerSlot)
      if (woke) return 'ok'
    }
  }

  async #sleepAsync(
    seq: number,
    waitingSlot: number,
    ready: () => boolean,
    deadline: number,
    peerSlot: number,
  ): Promise<'ok' | 'timed-out'> {
    for (;;) {
      const slice = this.#arm(seq, waitingSlot, ready, deadline)
      if (typeof slice === 'string') return slice
      const r = await this.#region.waitAsync(seq, this.#seen, slice)
      this.#live()
      if (this.#disarm(r, waitingSlot, peerSlot)) return 'ok'
    }
  }

  /** The value of `seq` that `#arm` saw: the wait sleeps only while it still holds. */
  #seen = 0

  /**
   * Says this side waits (the other then notifies), and returns how long to sleep, or why not:
   * `'ok'` if `ready()` already holds, `'timed-out'` past the deadline. Reading `seq` before the
   * check and sleeping only while it holds loses no wake-up.
   */
  #arm(seq: number, waitingSlot: number, ready: () => boolean, deadline: number): number | 'ok' | 'timed-out' {
    this.#seen = Atomics.load(this.#words, seq)
    Atomics.store(this.#words, waitingSlot, 1)
    if (ready()) {
      Atomics.store(this.#words, waitingSlot, 0)
      return 'ok'
    }
    const left = deadline - performance.now()
    if (left <= 0) {
      Atomics.store(this.#words, waitingSlot, 0)
      return 'timed-out'
    }
    return Math.min(left, PEER_CHECK_MS)
  }

  /** After a wait: whether it woke on progress; a timed-out slice checks the other process. */
  #disarm(r: string, waitingSlot: number, peerSlot: number): boolean {
    Atomics.store(this.#words, waitingSlot, 0)
    if (r !== 'timed-out') return true
    this.#checkPeer(peerSlot)
    return false
  }

  #checkPeer(slot: number): void {
    const pid = Atomics.load(this.#words, slot)
    if (pid !== 0 && pid !== process.pid && !alive(pid)) {
      if (slot === WRITER_PID && Atomics.load(this.#words, ENDED) === 1) return
      throw mmapError(
        'ERR_MMAP_PEER_GONE',
        `the channel's ${slot === WRITER_PID ? 'writer' : 'reader'} (process ${pid}) exited without end()`,
        this.path,
      )
    }
  }
}
