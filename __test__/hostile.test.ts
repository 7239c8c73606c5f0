// Hostile use: every way a caller (or another process) can misuse the API, each in its own child
// process. A scenario passes when the child exits normally (no SIGSEGV, SIGBUS, SIGABRT, no hang)
// and prints the outcome the README promises: usually an MmapError with a given code.
//
// Not tested, by design: truncating a file under a live map. Touching the lost pages raises SIGBUS
// and no mmap library can turn that into an exception (README, Limits). What is tested is the part
// the library owns: a file truncated (or grown) by another process *before* open is caught by the
// size checks.
import { describe, expect, it } from 'vitest'

import {
  expectCleanExit,
  NOT_ON_WINDOWS,
  posixCheck,
  posixTest,
  runChild,
  tempDir,
  WINDOWS,
  WINE,
  wineTest,
} from './helpers'

const dir = tempDir()

/** The child's helpers. Scenario bodies are async function bodies that `return` their outcome. */
const PRELUDE = `
import { execFileSync } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
const base = ${JSON.stringify(dir)}
const dir = fs.mkdtempSync(base + '/s-')
const codeOf = (e) => (e instanceof m.MmapError ? e.code : (e && e.name) + ': ' + (e && e.message))
const code = (fn) => { try { fn(); return 'ok' } catch (e) { return codeOf(e) } }
/** What fn returns, or the code of what it throws. */
const out = (fn) => { try { return fn() } catch (e) { return codeOf(e) } }
const settle = async (fn) => { try { await fn(); return 'ok' } catch (e) { return codeOf(e) } }
const rejects = (fn) => {
  let p
  try { p = fn() } catch (e) { return 'threw synchronously: ' + codeOf(e) }
  return p instanceof Promise ? p.then(() => 'ok', codeOf) : 'not a promise'
}
const file = (name, data) => { const p = dir + '/' + name; fs.writeFileSync(p, data); return p }
const f64 = (name, values) => file(name, new Uint8Array(new Float64Array(values).buffer))
const f64s = (p) => [...new Float64Array(new Uint8Array(fs.readFileSync(p)).buffer)]
const bytes = (p) => [...fs.readFileSync(p)]
const fifo = (name) => { const p = dir + '/' + name; execFileSync('mkfifo', [p]); return p }
/** truncate(1) in another process, portable: a size, or '+N' to grow by N bytes. */
const truncate = (p, size) =>
  execFileSync(process.execPath, ['-e', "const [p, s] = process.argv.slice(1); require('fs').truncateSync(p, s[0] === '+' ? require('fs').statSync(p).size + +s : +s)", p, String(size)])
/** [outcome, returned within 3 s]: a FIFO must be refused, not waited on. */
const timed = (fn) => { const t = Date.now(); const c = code(fn); return [c, Date.now() - t < 3000] }
/** Root ignores permission bits: become nobody (the temp dirs made traversable first). No uids on Windows. */
const root = process.getuid?.() === 0
const dropRoot = () => {
  if (!root) return
  fs.chmodSync(base, 0o755)
  fs.chmodSync(dir, 0o755)
  process.setgid(65534)
  process.setuid(65534)
}
/** A .npy file: magic, version 1.0, the header text as given, then data. */
const npy = (name, text, data = new Uint8Array(0), major = 1) => {
  const h = new TextEncoder().encode(text)
  const out = new Uint8Array(10 + h.length + data.length)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0])
  new DataView(out.buffer).setUint16(8, Math.min(h.length, 0xffff), true)
  out.set(h, 10)
  out.set(data, 10 + h.length)
  return file(name, out)
}
/** A header dict padded so the data starts at byte 128, as np.save lays it out. */
const hdr = (dict) => dict.padEnd(117) + '\\n'
`

/** Watches the child from another thread: a hang ends in SIGKILL (a failed test), not a stuck run. */
const WATCHDOG = `
import { Worker } from 'node:worker_threads'
new Worker("setTimeout(() => process.kill(process.pid, 'SIGKILL'), 10000)", { eval: true }).unref()
`

const EPILOGUE = (body: string) => `
const outcome = await (async () => {
${body}
})()
console.log(JSON.stringify(outcome, (k, v) => (typeof v === 'bigint' ? v + 'n' : Number.isNaN(v) ? 'NaN' : v)))
`

interface Scenario {
  name: string
  body: string
  expected: unknown
  /** Run under the watchdog: for calls that could block. */
  watchdog?: boolean
  nodeArgs?: string[]
  /** A POSIX fact Windows does not have: the scenario skips there, saying this. */
  posix?: string
  /** Something Wine does not do as Windows does: the scenario skips under Wine, saying this. */
  wine?: string
}

const scenarios: Scenario[] = []
const row = (name: string, expected: unknown, body: string, watchdog = false, nodeArgs: string[] = []) =>
  scenarios.push({ name, body, expected, watchdog, nodeArgs })
/** `row` for a POSIX fact Windows does not have (`why`): the scenario skips there, saying why. */
const posixRow = (why: string, ...args: Parameters<typeof row>) => {
  row(...args)
  scenarios[scenarios.length - 1].posix = why
}

/**
 * One scenario making each call of `exprs` in turn, each expected to come out as `expected`. The
 * outcome is keyed by the call, so a failure names the call that differs; `extra` adds checks
 * (an expression and its expected value) made after the calls.
 */
const calls = (
  name: string,
  expected: unknown,
  setup: string,
  exprs: string[],
  extra: Record<string, [string, unknown]> = {},
) => {
  const want: Record<string, unknown> = {}
  const lines: string[] = []
  for (const e of exprs) {
    want[e] = expected
    lines.push(`${JSON.stringify(e)}: code(() => ${e}),`)
  }
  for (const [key, [expr, value]] of Object.entries(extra)) {
    want[key] = value
    lines.push(`${JSON.stringify(key)}: ${expr},`)
  }
  row(name, want, `${setup}\nreturn {\n${lines.join('\n')}\n}`)
}

const INVALID = 'ERR_MMAP_INVALID_ARG'
const CLOSED = 'ERR_MMAP_CLOSED'
const READONLY = 'ERR_MMAP_READONLY'
const MISMATCH = 'ERR_MMAP_SIZE_MISMATCH'
const FORMAT = 'ERR_MMAP_FORMAT'

/** A float64 file [1, 2, 3, 4] at `p`, mapped `'r+'` as `a`. */
const ARRAY = `const p = f64('a.f8', [1, 2, 3, 4]); const a = m.MmapArray.open(p)`
/** `a` [1, 2, 3, 4] closed, its file `p`. */
const CLOSED_ARRAY = `${ARRAY}; a.close()`

// ---------------------------------------------------------------------------------------------
// After close()

for (const expr of [
  'a.array',
  'a.slice()',
  'a.slice(1, 2)',
  'a.get(0)',
  'a.set(0, 1)',
  'a.fill(1)',
  'a.sum()',
  'a.mean()',
  'a.std()',
  'a.min()',
  'a.max()',
  'a.flush()',
  "a.advise('willneed')",
  'a.chunks().next()',
]) {
  row(
    `closed MmapArray: ${expr} throws ERR_MMAP_CLOSED`,
    [CLOSED, true],
    `${CLOSED_ARRAY}; return [code(() => ${expr}), a.closed]`,
  )
}

row(
  'closed MmapArray: flushAsync() rejects with ERR_MMAP_CLOSED',
  CLOSED,
  `${CLOSED_ARRAY}; return await rejects(() => a.flushAsync())`,
)

row(
  'closed MmapArray: metadata stays readable',
  [[4], 'float64', 4, 1, 4, 32, { path: 'ok', shape: [4], dtype: 'float64', byteLength: 32, readonly: false }],
  `${CLOSED_ARRAY}
  const info = a.info()
  const sameInfo = { ...info, path: info.path === path.resolve(p) ? 'ok' : info.path }
  return [a.shape, a.dtype, a.size, a.ndim, a.length, a.byteLength, sameInfo]`,
)

row(
  'closed MmapArray: views taken before close() have length 0 and writes into them are harmless',
  {
    lengths: [0, 0, 0, 0, 0, 0],
    reads: ['undefined', 'undefined', 'undefined', 'undefined'],
    file: [1, 2, 3, 4, 5, 6],
  },
  `const p = dir + '/v.f8'
  const a = m.MmapArray.fromArray(p, [[1, 2], [3, 4], [5, 6]])
  const whole = a.array, rows = a.slice(1), sub = whole.subarray(2, 4)
  const chunk = a.chunks(1).next().value.data
  const f32 = new Float32Array(a.array.buffer), u8 = new Uint8Array(a.array.buffer, 8, 8)
  a.close()
  whole[0] = 9; rows[0] = 9; sub[0] = 9; chunk[0] = 9; f32[0] = 9; u8[0] = 9
  whole[5] = 9; rows[3] = 9
  return {
    lengths: [whole.length, rows.length, sub.length, chunk.length, f32.length, u8.length],
    reads: [whole[0], rows[1], chunk[0], f32[3]].map(String),
    file: f64s(p),
  }`,
)

row(
  'closed MmapArray: close() twice and [Symbol.dispose]() after close() are no-ops',
  [true, 'ok', 'ok'],
  `${CLOSED_ARRAY}; a.close(); return [a.closed, code(() => a.close()), code(() => a[Symbol.dispose]())]`,
)

row(
  'close() inside for...of a.chunks() ends the loop with ERR_MMAP_CLOSED at the next step',
  [CLOSED, [[0, 2], 0, 'undefined']],
  `const a = m.MmapArray.create(dir + '/c.f8', { shape: [10, 3] })
  const seen = []
  const r = code(() => {
    for (const c of a.chunks(2)) {
      seen.push([c.start, c.end])
      a.close()
      c.data[0] = 1
      seen.push(c.data.length, String(c.data[0]))
    }
  })
  return [r, seen]`,
)

row(
  'close() inside for...of a.chunks() then break: the loop ends cleanly',
  ['ok', 1, true],
  `const a = m.MmapArray.create(dir + '/c.f8', { shape: [10, 3] })
  let steps = 0
  const r = code(() => { for (const c of a.chunks(1)) { steps++; a.close(); break } })
  return [r, steps, a.closed]`,
)

row(
  'close() while flushAsync() is in flight: both settle, the data reaches the file',
  ['ok', true, [7, 7, 7, 7]],
  `${ARRAY}
  a.fill(7)
  const pending = a.flushAsync()
  a.close()
  return [await settle(() => pending), a.closed, f64s(p)]`,
)

row(
  'closed createSharedBuffer array: members throw ERR_MMAP_CLOSED, views are empty',
  [CLOSED, CLOSED, CLOSED, 0, ''],
  `const b = m.createSharedBuffer('int32', 1024)
  const v = b.array
  b.close()
  v[0] = 1
  return [code(() => b.get(0)), code(() => b.sum()), code(() => b.set(0, 1)), v.length, b.path]`,
)

row(
  'closed MmapFile: bytes (and views of it) have length 0, writes are harmless, the file is unchanged',
  [0, 0, 0, 0, 'undefined', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]],
  `const p = file('b.bin', Uint8Array.from({ length: 16 }, (_, i) => i + 1))
  const f = m.mmapFile(p, { mode: 'r+' })
  const b = f.bytes, d = new Float64Array(f.bytes.buffer), s = f.bytes.subarray(4, 8)
  f.close()
  b[0] = 0; d[0] = 0; s[0] = 0
  return [f.bytes.length, b.length, d.length, s.length, String(b[0]), bytes(p)]`,
)

for (const expr of ['f.flush()', "f.advise('willneed')", 'f.flushAsync()']) {
  row(
    `closed MmapFile: ${expr} is ERR_MMAP_CLOSED`,
    [CLOSED, true],
    `const f = m.mmapFile(file('b.bin', new Uint8Array(64)), { mode: 'r+' }); f.close()
    return [await settle(() => ${expr}), f.closed]`,
  )
}

row(
  'closed MmapFile: close() twice and [Symbol.dispose]() are no-ops',
  ['ok', 'ok', true],
  `const f = m.mmapFile(file('b.bin', new Uint8Array(64))); f.close()
  return [code(() => f.close()), code(() => f[Symbol.dispose]()), f.closed]`,
)

row(
  'SharedMemoryArray.unlink(): members throw ERR_MMAP_CLOSED, open(path) is ENOENT, unlink() is idempotent',
  [CLOSED, CLOSED, CLOSED, CLOSED, CLOSED, CLOSED, 0, 'ENOENT', 'ok', false],
  `const s = m.SharedMemoryArray.create({ shape: [4, 2], dtype: 'int32' })
  const v = s.array
  s.unlink()
  v[0] = 1
  return [
    code(() => s.get(0, 0)),
    code(() => s.set(0, 0, 1)),
    code(() => s.sum()),
    code(() => s.array),
    code(() => s.flush()),
    await rejects(() => s.flushAsync()),
    v.length,
    code(() => m.SharedMemoryArray.open(s.path)),
    code(() => s.unlink()),
    fs.existsSync(s.path),
  ]`,
)

row(
  'SharedMemoryArray.unlink() by one handle leaves another attached handle working; the name is gone ' +
    '(on Windows once no process maps the region)',
  // Windows keeps a named file mapping's name while any process maps it (README, Platforms).
  [5, CLOSED, WINDOWS ? 'ok' : 'ENOENT', 'ENOENT'],
  `const s = m.SharedMemoryArray.create({ shape: 4, dtype: 'int32' })
  const o = m.SharedMemoryArray.open(s.path, { dtype: 'int32' })
  const again = () => code(() => m.SharedMemoryArray.open(s.path).close())
  s.unlink()
  o.set(0, 5)
  const out = [o.get(0), code(() => s.get(0)), again()]
  o.close()
  return [...out, again()]`,
)

// ---------------------------------------------------------------------------------------------
// MmapCache closing arrays its caller still holds

row(
  'MmapCache eviction while the caller holds the array: members throw ERR_MMAP_CLOSED, views empty',
  [true, CLOSED, CLOSED, CLOSED, CLOSED, 0, 1],
  `const c = new m.MmapCache({ maxSize: 1 })
  const a = c.getOrCreate(f64('a.f8', [1, 2, 3, 4]))
  const v = a.array
  c.getOrCreate(f64('b.f8', [5]))
  v[0] = 9
  const codes = [code(() => a.get(0)), code(() => a.sum()), code(() => a.array), code(() => a.slice())]
  return [a.closed, ...codes, v.length, c.size]`,
)

row(
  'MmapCache eviction in the middle of a chunks() walk: the next step is ERR_MMAP_CLOSED',
  [0, CLOSED],
  `const c = new m.MmapCache({ maxSize: 1 })
  const a = c.getOrCreate(f64('a.f8', [1, 2, 3, 4]))
  const walk = a.chunks(1)
  const first = walk.next().value.data
  c.getOrCreate(f64('b.f8', [5]))
  return [first.length, code(() => walk.next())]`,
)

row(
  'MmapCache delete() and clear() close arrays the caller still holds; a later lookup reopens',
  [CLOSED, CLOSED, true, false, 1],
  `const c = new m.MmapCache()
  const p = f64('a.f8', [1, 2, 3, 4]), q = f64('b.f8', [5])
  const a = c.getOrCreate(p)
  c.delete(p)
  const b = c.getOrCreate(q)
  c.clear()
  const again = c.getOrCreate(p)
  return [code(() => a.get(0)), code(() => b.get(0)), again !== a, again.closed, again.get(0)]`,
)

// ---------------------------------------------------------------------------------------------
// Writes to read-only maps

for (const expr of ['a.set(0, 9)', 'a.fill(9)', 'a.flush()']) {
  row(
    `mode 'r': ${expr} is ERR_MMAP_READONLY and the file is unchanged`,
    [READONLY, [1, 2, 3, 4]],
    `const p = f64('r.f8', [1, 2, 3, 4]); const a = m.MmapArray.open(p, { mode: 'r' })
    return [code(() => ${expr}), f64s(p)]`,
  )
}

row(
  "mode 'r': flushAsync() rejects with ERR_MMAP_READONLY",
  READONLY,
  `const a = m.MmapArray.open(f64('r.f8', [1, 2, 3, 4]), { mode: 'r' }); return await rejects(() => a.flushAsync())`,
)

row(
  "mode 'r': writes straight into .array, slice() results and views of the buffer never reach the file",
  [[1, 2, 3, 4], [1, 2, 3, 4], true],
  `const p = f64('r.f8', [1, 2, 3, 4])
  const a = m.MmapArray.open(p, { mode: 'r' })
  a.array[0] = 9
  a.array.fill(8, 1, 2)
  a.slice(2)[0] = 7
  a.slice(3).set([6])
  a.array.copyWithin(0, 2)
  new Uint8Array(a.array.buffer)[31] = 0xff
  Atomics.store(new Int32Array(a.array.buffer), 0, 5)
  const again = m.MmapArray.open(p, { mode: 'r' })
  return [f64s(p), [...again.array], a.readonly]`,
)

row(
  "mmapFile 'r': writes into bytes, new Float64Array(bytes.buffer) and a DataView never reach the file",
  [Array.from({ length: 16 }, (_, i) => i + 1), Array.from({ length: 16 }, (_, i) => i + 1), READONLY],
  `const p = file('b.bin', Uint8Array.from({ length: 16 }, (_, i) => i + 1))
  const f = m.mmapFile(p)
  f.bytes[0] = 200
  f.bytes.fill(9, 1, 4)
  f.bytes.copyWithin(8, 0, 8)
  new Float64Array(f.bytes.buffer)[1] = Math.PI
  new DataView(f.bytes.buffer).setUint32(4, 0xdeadbeef)
  const w = m.mmapFile(p, { offset: 5, length: 3 })
  w.bytes.fill(0)
  const g = m.mmapFile(p)
  return [bytes(p), [...g.bytes], code(() => f.flush())]`,
)

row(
  "loadBinary, openNpy and MmapCache default to 'r': set/fill are ERR_MMAP_READONLY, direct writes stay private",
  [READONLY, READONLY, READONLY, [1, 2, 3, 4], [1, 2, 3, 4]],
  `const p = f64('r.f8', [1, 2, 3, 4])
  const q = dir + '/r.npy'
  m.saveNpy(q, new Float64Array([1, 2, 3, 4]))
  const l = m.loadBinary(p), n = m.openNpy(q), c = new m.MmapCache().getOrCreate(p)
  const out = [code(() => l.set(0, 9)), code(() => n.fill(9)), code(() => c.set(0, 9))]
  l.array[0] = 9; n.array[0] = 9; c.array[1] = 9
  return [...out, f64s(p), [...m.openNpy(q).array]]`,
)

row(
  "mode 'c': writes stay in the process through flush() and advise('dontneed'), the file is unchanged",
  [[42, 7, 7, 7], 'ok', 'ok', [1, 2, 3, 4]],
  `const p = f64('c.f8', [1, 2, 3, 4])
  const a = m.MmapArray.open(p, { mode: 'c' })
  for (const ch of a.chunks(1)) ch.data[0] = 7
  a.set(0, 42)
  const adv = code(() => a.advise('dontneed'))
  return [[...a.array], adv, code(() => a.flush()), f64s(p)]`,
)

// ---------------------------------------------------------------------------------------------
// Bad arguments: ERR_MMAP_INVALID_ARG, and nothing created on disk

const create = (opts: string) => `m.MmapArray.create(dir + '/new.f8', ${opts})`
calls(
  'MmapArray.create with a bad shape: ERR_MMAP_INVALID_ARG, no file',
  INVALID,
  '',
  [
    `{ shape: '3' }`,
    `{ shape: 3n }`,
    `{ shape: Symbol('s') }`,
    `{ shape: [NaN] }`,
    `{ shape: [-1] }`,
    `{ shape: [1.5] }`,
    `{ shape: [3n] }`,
    `{ shape: [new Number(3)] }`,
    `{ shape: [2 ** 53] }`,
    `{ shape: [2 ** 40, 2 ** 40] }`,
    `{ shape: [2 ** 50] }`,
    `{}`,
  ].map(create),
  { 'files left': ['fs.readdirSync(dir)', []] },
)
calls(
  'MmapArray.create with a bad dtype: ERR_MMAP_INVALID_ARG, no file',
  INVALID,
  '',
  [
    `{ shape: 3, dtype: 'complex128' }`,
    `{ shape: 3, dtype: '>f8' }`,
    `{ shape: 3, dtype: {} }`,
    `{ shape: 3, dtype: Symbol('f8') }`,
    `{ shape: 3, dtype: Array }`,
    `{ shape: 3, dtype: 8 }`,
  ].map(create),
  { 'files left': ['fs.readdirSync(dir)', []] },
)
calls(
  'MmapArray.create with a bad fill, overwrite or options: ERR_MMAP_INVALID_ARG, no file',
  INVALID,
  '',
  [`{ shape: 3, fill: Symbol('x') }`, `{ shape: 3, fill: 'x' }`, `{ shape: 3, overwrite: 'yes' }`, `'r+'`].map(create),
  { 'files left': ['fs.readdirSync(dir)', []] },
)

calls(
  'MmapArray.open with a bad path (wrong type, NUL byte, URL that is not a local file): ERR_MMAP_INVALID_ARG',
  INVALID,
  '',
  [
    `{}`,
    `Symbol('p')`,
    `42n`,
    `42`,
    `dir + '/a\\0b'`,
    `new URL('http://example.com/a.f8')`,
    // On Windows a file: URL with a host is a UNC path (\\remotehost\tmp\a.f8): a network share, not invalid.
    ...(posixCheck('file://remotehost/... is a UNC path on Windows') ? [`new URL('file://remotehost/tmp/a.f8')`] : []),
    `new URL('file://' + dir + '/a%00b')`,
  ].map((path) => `m.MmapArray.open(${path})`),
)

row(
  'every path-taking function rejects an empty path with ERR_MMAP_INVALID_ARG',
  Array.from({ length: 9 }, () => INVALID),
  `const t = new Float64Array(2)
  return [
    code(() => m.MmapArray.create('', { shape: 1 })),
    code(() => m.MmapArray.fromArray('', [1])),
    code(() => m.mmapFile('')),
    code(() => m.loadBinary('')),
    code(() => m.saveBinary('', t)),
    code(() => m.saveNpy('', t)),
    code(() => m.openNpy('')),
    code(() => m.SharedMemoryArray.open('')),
    code(() => new m.MmapCache().getOrCreate('')),
  ]`,
)

calls(
  'MmapArray.open with a bad mode, offset, shape, dtype or options: ERR_MMAP_INVALID_ARG',
  INVALID,
  `const p = f64('a.f8', [1, 2, 3, 4])`,
  [
    `{ mode: 'w' }`,
    `{ mode: Symbol('r') }`,
    `{ mode: {} }`,
    `{ offset: '8' }`,
    `{ offset: 8n }`,
    `{ offset: NaN }`,
    `{ offset: -8 }`,
    `{ offset: 2 ** 53 }`,
    `{ shape: [2 ** 53] }`,
    `{ shape: [2 ** 40, 2 ** 40] }`,
    `{ shape: ['4'] }`,
    `{ dtype: 'float16' }`,
    `8`,
  ].map((opts) => `m.MmapArray.open(p, ${opts})`),
)

for (const call of [
  `m.MmapArray.create(dir + '/s.f8', { shape: new Array(2 ** 32 - 1) })`,
  `m.MmapArray.open(f64('a.f8', [1]), { shape: new Array(2 ** 32 - 1) })`,
  `m.saveNpy(dir + '/s.npy', new Float64Array(1), { shape: new Array(2 ** 32 - 1) })`,
]) {
  // A hole is not a number: refused at once, not copied (a 64 MiB heap makes a copy abort fast).
  row(
    `${call.slice(2, call.indexOf('('))} with a sparse shape of 2**32 - 1 holes: ${INVALID}, not out of memory`,
    INVALID,
    `return code(() => ${call})`,
    false,
    ['--max-old-space-size=64'],
  )
}

row(
  'an options getter that throws: the caller’s own error comes back, nothing crashes',
  'Error: boom',
  `${ARRAY}
  return code(() => m.MmapArray.open(p, { get mode() { throw new Error('boom') } }))`,
)

row(
  'null in an options object means "not given" (README)',
  [[[4], 'float64', 'r+'], 32, [[3], 0], [[4], 'float64', 'r'], [[4], 'r'], 'ok', [[2], 'float64']],
  `const p = f64('a.f8', [1, 2, 3, 4])
  const none = { shape: null, dtype: null, mode: null, offset: null }
  const q = dir + '/n.npy'
  return [
    out(() => { const a = m.MmapArray.open(p, none); return [a.shape, a.dtype, a.mode] }),
    out(() => m.mmapFile(p, { mode: null, offset: null, length: null }).length),
    out(() => {
      const c = m.MmapArray.create(dir + '/n.f8', { shape: 3, dtype: null, fill: null, overwrite: null })
      return [c.shape, c.get(0)]
    }),
    out(() => { const l = m.loadBinary(p, none); return [l.shape, l.dtype, l.mode] }),
    out(() => { const c = new m.MmapCache({ maxSize: null }).getOrCreate(p, none); return [c.shape, c.mode] }),
    code(() => m.saveNpy(q, new Float64Array(2), { shape: null, overwrite: null })),
    out(() => {
      if (!fs.existsSync(q)) m.saveNpy(q, new Float64Array(2))
      const n = m.openNpy(q, { mode: null })
      return [n.shape, n.dtype]
    }),
  ]`,
)

const UNCHANGED = { 'the file after': ['f64s(p)', [1, 2, 3, 4]] } as Record<string, [string, unknown]>
const members: [string, string[]][] = [
  [
    'get',
    [
      `a.get('0')`,
      `a.get(NaN)`,
      `a.get(1.5)`,
      `a.get(0n)`,
      `a.get(Symbol('i'))`,
      `a.get({})`,
      `a.get(4)`,
      `a.get(-5)`,
      `a.get(2 ** 60)`,
      `a.get(0, 0)`,
      `a.get()`,
    ],
  ],
  [
    'set',
    [
      `a.set(0, '1')`,
      `a.set(0, Symbol('v'))`,
      `a.set(0, { valueOf: () => 1 })`,
      `a.set('0', 1)`,
      `a.set(Symbol('i'), 1)`,
      `a.set({}, 1)`,
      `a.set(4, 1)`,
      `a.set()`,
    ],
  ],
  ['slice', [`a.slice('1')`, `a.slice(0.5)`, `a.slice(NaN)`, `a.slice(0, 1n)`, `a.slice(Symbol('s'))`]],
  [
    'chunks',
    [
      `a.chunks(0).next()`,
      `a.chunks(-1).next()`,
      `a.chunks(1.5).next()`,
      `a.chunks('2').next()`,
      `a.chunks(2 ** 53).next()`,
    ],
  ],
  ['advise', [`a.advise('often')`, `a.advise(Symbol('a'))`, `a.advise(1)`]],
  ['fill', [`a.fill('x')`, `a.fill(Symbol('x'))`, `a.fill({})`]],
]
for (const [member, exprs] of members) {
  calls(
    `MmapArray ${member}() with bad arguments: ERR_MMAP_INVALID_ARG, the file unchanged`,
    INVALID,
    ARRAY,
    exprs,
    UNCHANGED,
  )
}

row(
  '64-bit integer arrays: set() of a fraction, of 2**53, of a string is ERR_MMAP_INVALID_ARG',
  [INVALID, INVALID, INVALID, INVALID, '0n'],
  `const a = m.MmapArray.create(dir + '/i.i8', { shape: 2, dtype: 'int64' })
  return [
    code(() => a.set(0, 1.5)),
    code(() => a.set(0, 2 ** 53)),
    code(() => a.set(0, '1')),
    code(() => a.fill(NaN)),
    a.get(0),
  ]`,
)

row(
  'mmapFile bad options and advice: ERR_MMAP_INVALID_ARG',
  [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID],
  `const p = file('b.bin', new Uint8Array(64))
  const f = m.mmapFile(p)
  return [
    code(() => m.mmapFile(p, { length: NaN })),
    code(() => m.mmapFile(p, { length: 8n })),
    code(() => m.mmapFile(p, { mode: 'w+' })),
    code(() => m.mmapFile(p, { offset: Symbol('o') })),
    code(() => f.advise('hugepage')),
    code(() => m.mmapFile(Symbol('p'))),
  ]`,
)

calls(
  'new MmapCache with a bad maxSize (0, -1, 1.5, NaN, Infinity, a string, a bigint): ERR_MMAP_INVALID_ARG',
  INVALID,
  '',
  ['0', '-1', '1.5', 'NaN', 'Infinity', "'10'", '10n'].map((n) => `new m.MmapCache({ maxSize: ${n} })`),
)

row(
  'MmapCache bad options and lookups: ERR_MMAP_INVALID_ARG',
  [INVALID, INVALID, INVALID, INVALID, INVALID, 0],
  `const p = f64('a.f8', [1, 2, 3, 4])
  const c = new m.MmapCache()
  return [
    code(() => new m.MmapCache(5)),
    code(() => c.getOrCreate(p, { mode: 'w' })),
    code(() => c.getOrCreate(p, { dtype: 'x' })),
    code(() => c.getOrCreate(p, { shape: [2 ** 53] })),
    code(() => c.has(p, { offset: -1 })),
    c.size,
  ]`,
)

calls(
  'createSharedBuffer with a bad length or dtype: ERR_MMAP_INVALID_ARG',
  INVALID,
  '',
  [
    `'float64', -1`,
    `'float64', 1.5`,
    `'float64', NaN`,
    `'float64', Infinity`,
    `'float64', '4'`,
    `'float64', 4n`,
    `'float64', 2 ** 53`,
    `'float64', 2 ** 50`,
    `'float64'`,
    `'complex64', 4`,
    `Symbol('f8'), 4`,
  ].map((args) => `m.createSharedBuffer(${args})`),
)

row(
  'SharedMemoryArray.create bad options: ERR_MMAP_INVALID_ARG, nothing left in the shared memory directory',
  [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, []],
  `const out = [
    code(() => m.SharedMemoryArray.create({ shape: 4, name: '../escape' })),
    code(() => m.SharedMemoryArray.create({ shape: 4, name: 'a/b' })),
    code(() => m.SharedMemoryArray.create({ shape: 4, name: '' })),
    code(() => m.SharedMemoryArray.create({ shape: 4, name: Symbol('n') })),
    code(() => m.SharedMemoryArray.create({ name: 'x' })),
    code(() => m.SharedMemoryArray.create({ shape: 4, persistent: 'yes' })),
    code(() => m.SharedMemoryArray.create({ shape: [2 ** 53] })),
  ]
  // Windows: regions are named file mappings, not files; they cannot be listed, only opened.
  const win = process.platform === 'win32'
  const exists = (n) => win
    ? code(() => m.SharedMemoryArray.open(m.SHARED_MEMORY_DIR + '\\\\' + n, { dtype: 'uint8' }).close()) === 'ok'
    : fs.existsSync(m.SHARED_MEMORY_DIR + '/' + n)
  const mine = win ? [] : fs.readdirSync(m.SHARED_MEMORY_DIR).filter((n) => n.startsWith('memmap-' + process.pid + '-'))
  return [...out, [...mine, ...['../escape', 'a', 'x'].filter(exists)]]`,
)

const notTypedArrays = [
  `[1, 2, 3]`,
  `'abc'`,
  `null`,
  `{ length: 2, 0: 1, 1: 2 }`,
  `new DataView(new ArrayBuffer(8))`,
  `new ArrayBuffer(8)`,
]
for (const fn of ['saveBinary', 'saveNpy']) {
  calls(
    `${fn} with data that is not a typed array or an MmapArray: ERR_MMAP_INVALID_ARG, no file`,
    INVALID,
    '',
    notTypedArrays.map((data) => `m.${fn}(dir + '/out.bin', ${data})`),
    { 'files left': ['fs.readdirSync(dir)', []] },
  )
}
calls(
  'saveBinary/saveNpy with a detached typed array (a view of a closed array): ERR_MMAP_INVALID_ARG, no file',
  INVALID,
  `const b = m.createSharedBuffer('f8', 4); const v = b.array; b.close()`,
  [`m.saveBinary(dir + '/out.bin', v)`, `m.saveNpy(dir + '/out.npy', v)`],
  { 'files left': ['fs.readdirSync(dir)', []] },
)

row(
  'saveNpy/saveBinary bad options: ERR_MMAP_INVALID_ARG, no file',
  [INVALID, INVALID, INVALID, INVALID, []],
  `const t = new Float64Array(4)
  return [
    code(() => m.saveNpy(dir + '/x.npy', t, { shape: [3] })),
    code(() => m.saveNpy(dir + '/x.npy', t, { shape: [2 ** 53] })),
    code(() => m.saveNpy(dir + '/x.npy', t, { overwrite: 'yes' })),
    code(() => m.saveBinary(dir + '/x.bin', t, { overwrite: 1 })),
    fs.readdirSync(dir),
  ]`,
)

row(
  'saving or copying a closed array is ERR_MMAP_CLOSED, no file',
  [CLOSED, CLOSED, CLOSED, ['a.f8']],
  `${CLOSED_ARRAY}
  return [
    code(() => m.saveNpy(dir + '/x.npy', a)),
    code(() => m.saveBinary(dir + '/x.bin', a)),
    code(() => m.MmapArray.fromArray(dir + '/x.f8', a)),
    fs.readdirSync(dir),
  ]`,
)

row(
  'MmapArray.fromArray bad data: ERR_MMAP_INVALID_ARG, no file',
  [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, []],
  `return [
    code(() => m.MmapArray.fromArray(dir + '/x1', 'abc')),
    code(() => m.MmapArray.fromArray(dir + '/x2', [[1, 2], [3]])),
    code(() => m.MmapArray.fromArray(dir + '/x3', [1, 'x'])),
    code(() => m.MmapArray.fromArray(dir + '/x4', [2, Symbol('v')])),
    code(() => m.MmapArray.fromArray(dir + '/x5', [1, 2, 3], { shape: [2] })),
    code(() => m.MmapArray.fromArray(dir + '/x6', { 0: 1, length: 1 })),
    fs.readdirSync(dir),
  ]`,
)

row(
  'MmapArray.fromArray over its own source file (overwrite): both keep the data; ' +
    'on Windows, which cannot replace a mapped file, EBUSY and the file untouched',
  WINDOWS
    ? ['EBUSY', [1, 2, 3], [1, 2, 3]]
    : [
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
      ],
  `const p = f64('a.f8', [1, 2, 3])
  const a = m.MmapArray.open(p)
  if (process.platform === 'win32') return [code(() => m.MmapArray.fromArray(p, a, { overwrite: true })), [...a.array], f64s(p)]
  const b = m.MmapArray.fromArray(p, a, { overwrite: true })
  return [[...a.array], [...b.array], f64s(p)]`,
)

// ---------------------------------------------------------------------------------------------
// openNpy on garbage: ERR_MMAP_FORMAT

row(
  'openNpy baseline: a well-formed hand-made header opens (the helper the garbage rows use)',
  ['float64', [2], 2.5],
  `const data = new Uint8Array(new Float64Array([1, 2.5]).buffer)
  const p = npy('ok.npy', hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"), data)
  const a = m.openNpy(p)
  return [a.dtype, a.shape, a.get(1)]`,
)

const garbage: [string, string, string][] = [
  ['random bytes', FORMAT, `file('g.npy', Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24))`],
  ['an empty file', FORMAT, `file('g.npy', '')`],
  ['the magic alone', FORMAT, `file('g.npy', Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]))`],
  ['a text file', FORMAT, `file('g.npy', 'hello, numpy\\n')`],
  [
    'version 4.0',
    FORMAT,
    `npy('g.npy', hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }"), undefined, 4)`,
  ],
  [
    'a header length past the file',
    FORMAT,
    `file('g.npy', Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0x00, 0x10, 0x7b]))`,
  ],
  ['a header that is not a dict', FORMAT, `npy('g.npy', hdr('[1, 2, 3]'))`],
  ['a cut-off dict', FORMAT, `npy('g.npy', hdr("{'descr': '<f8', 'shape': (3,"))`],
  [
    'a big-endian descr',
    FORMAT,
    `npy('g.npy', hdr("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }"), new Uint8Array(8))`,
  ],
  [
    'an object descr',
    FORMAT,
    `npy('g.npy', hdr("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"), new Uint8Array(8))`,
  ],
  [
    'a structured descr',
    FORMAT,
    `npy('g.npy', hdr("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }"), new Uint8Array(8))`,
  ],
  [
    'Fortran order',
    FORMAT,
    `npy('g.npy', hdr("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }"), new Uint8Array(8))`,
  ],
  ['a negative dimension', FORMAT, `npy('g.npy', hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"))`],
  [
    'a fractional dimension',
    FORMAT,
    `npy('g.npy', hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,), }"))`,
  ],
  [
    'shape (2**40, 2**40)',
    FORMAT,
    `npy('g.npy', hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }"))`,
  ],
  [
    'shape (2**50,) of float64 (2**53 bytes)',
    FORMAT,
    `npy('g.npy', hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (1125899906842624,), }"))`,
  ],
  [
    '5000 nested parentheses',
    FORMAT,
    `npy('g.npy', "{'descr': '<f8', 'fortran_order': False, 'shape': " + '('.repeat(5000) + '\\n')`,
  ],
  [
    'a data section shorter than the header declares',
    MISMATCH,
    `npy('g.npy', hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }"), new Uint8Array(31))`,
  ],
]
for (const [what, expected, make] of garbage) {
  row(
    `openNpy on ${what}: ${expected}`,
    [expected, expected],
    `const p = ${make}; return [code(() => m.openNpy(p)), code(() => m.openNpy(p, { mode: 'r+' }))]`,
  )
}

row(
  "openNpy with mode 'w' or options a string: ERR_MMAP_INVALID_ARG",
  [INVALID, INVALID],
  `const p = dir + '/x.npy'; m.saveNpy(p, new Float64Array(2))
  return [code(() => m.openNpy(p, { mode: 'w' })), code(() => m.openNpy(p, 'r'))]`,
)

// ---------------------------------------------------------------------------------------------
// Sizes, offsets and empty files

row(
  'an offset that is not a multiple of the itemsize is ERR_MMAP_ALIGNMENT',
  ['ERR_MMAP_ALIGNMENT', 'ERR_MMAP_ALIGNMENT'],
  `const p = f64('a.f8', [1, 2, 3, 4])
  return [
    code(() => m.loadBinary(p, { offset: 3 })),
    code(() => m.MmapArray.open(p, { dtype: 'int32', offset: 2, shape: 1 })),
  ]`,
)

row(
  'offsets and shapes far past the end of the file are ERR_MMAP_SIZE_MISMATCH, never a bus error',
  [MISMATCH, MISMATCH, MISMATCH, MISMATCH],
  `const p = f64('a.f8', [1, 2, 3, 4])
  return [
    code(() => m.MmapArray.open(p, { dtype: 'uint8', offset: 2 ** 52 })),
    code(() => m.MmapArray.open(p, { shape: [2 ** 49] })),
    code(() => m.MmapArray.open(p, { shape: [1], offset: 2 ** 53 - 8 })),
    code(() => m.mmapFile(p, { offset: 2 ** 52, length: 1 })),
  ]`,
)

row(
  'a zero-length file: the inferred shape is [0]; sum 0, mean/std NaN, min/max ERR_MMAP_INVALID_ARG',
  [[0], 0, 0, 0, 'NaN', 'NaN', INVALID, INVALID, INVALID, 0, 0, 0],
  `const a = m.MmapArray.open(file('e.f8', ''))
  const chunks = [...a.chunks()].length
  const codes = [code(() => a.min()), code(() => a.max()), code(() => a.get(0))]
  const values = [a.shape, a.size, a.array.length, a.sum(), a.mean(), a.std()]
  return [...values, ...codes, a.slice().length, chunks, a.byteLength]`,
)

row(
  'a zero-length file: 64-bit sum is 0n; modes r, r+, c all open; flush works',
  ['0n', INVALID, [0, 0, 0], 'ok', 0],
  `const p = file('e.i8', '')
  const a = m.MmapArray.open(p, { dtype: 'int64' })
  const sizes = ['r', 'r+', 'c'].map((mode) => m.MmapArray.open(p, { mode }).size)
  return [a.sum(), code(() => a.max()), sizes, code(() => a.flush()), m.mmapFile(p, { mode: 'c' }).length]`,
)

row(
  'a zero-length file with a shape or offset that needs data: ERR_MMAP_SIZE_MISMATCH',
  [MISMATCH, MISMATCH, MISMATCH, 'ok'],
  `const p = file('e.f8', '')
  return [
    code(() => m.MmapArray.open(p, { shape: [1] })),
    code(() => m.MmapArray.open(p, { offset: 8 })),
    code(() => m.mmapFile(p, { length: 1 })),
    code(() => m.MmapArray.open(p, { shape: [0, 5] })),
  ]`,
)

row(
  'an offset exactly at the end of a non-empty file: an empty map; one past it is ERR_MMAP_SIZE_MISMATCH',
  [[0], 0, 0, [0], MISMATCH, MISMATCH],
  `const p = f64('a.f8', [1, 2, 3, 4])
  return [
    out(() => m.MmapArray.open(p, { offset: 32 }).shape),
    out(() => m.MmapArray.open(p, { offset: 32, mode: 'c' }).sum()),
    out(() => m.mmapFile(p, { offset: 32 }).length),
    out(() => m.MmapArray.open(p, { offset: 32, shape: [0], mode: 'r' }).shape),
    code(() => m.MmapArray.open(p, { offset: 40, shape: [0] })),
    code(() => m.mmapFile(p, { offset: 33 })),
  ]`,
)

row(
  'a 0-d array (shape []): get() and set() work, slice() and chunks() are ERR_MMAP_INVALID_ARG',
  [1, 2.5, 1, INVALID, INVALID, INVALID, 2.5],
  `const a = m.MmapArray.create(dir + '/z.f8', { shape: [] })
  a.set(2.5)
  const codes = [code(() => a.slice()), code(() => a.chunks().next()), code(() => a.get(0))]
  return [a.size, a.get(), a.length, ...codes, a.sum()]`,
)

// ---------------------------------------------------------------------------------------------
// Things that are not regular files

row(
  'a directory is EISDIR through every opener; create over it is EEXIST',
  ['EISDIR', 'EISDIR', 'EISDIR', 'EISDIR', 'EISDIR', 'EISDIR', 'EISDIR', 'EEXIST'],
  `return [
    code(() => m.MmapArray.open(dir)),
    code(() => m.MmapArray.open(dir, { mode: 'r', shape: 1 })),
    code(() => m.loadBinary(dir)),
    code(() => m.openNpy(dir)),
    code(() => m.mmapFile(dir, { mode: 'c' })),
    code(() => m.SharedMemoryArray.open(dir)),
    code(() => new m.MmapCache().getOrCreate(dir)),
    code(() => m.MmapArray.create(dir, { shape: 1 })),
  ]`,
)

for (const [what, expr] of [
  ["MmapArray.open (mode 'r+')", `m.MmapArray.open(p)`],
  ["MmapArray.open (mode 'r', a shape)", `m.MmapArray.open(p, { mode: 'r', shape: [4] })`],
  ['loadBinary', `m.loadBinary(p)`],
  ['openNpy', `m.openNpy(p)`],
  ["mmapFile (mode 'c')", `m.mmapFile(p, { mode: 'c' })`],
  ['SharedMemoryArray.open', `m.SharedMemoryArray.open(p)`],
  ['MmapCache.getOrCreate', `new m.MmapCache().getOrCreate(p)`],
]) {
  posixRow(
    NOT_ON_WINDOWS.fifo,
    `a FIFO through ${what}: ERR_MMAP_INVALID_ARG at once, no hang`,
    [INVALID, true],
    `const p = fifo('q'); return timed(() => ${expr})`,
    true,
  )
}

posixRow(
  'no /dev/zero or /dev/null device files on Windows',
  '/dev/zero and /dev/null: ERR_MMAP_INVALID_ARG through every opener',
  Array.from({ length: 7 }, () => INVALID),
  `return [
    code(() => m.MmapArray.open('/dev/zero')),
    code(() => m.MmapArray.open('/dev/zero', { mode: 'r', shape: [10] })),
    code(() => m.loadBinary('/dev/zero', { shape: [4096], dtype: 'uint8' })),
    code(() => m.openNpy('/dev/zero')),
    code(() => m.mmapFile('/dev/zero', { mode: 'c', length: 4096 })),
    code(() => m.mmapFile('/dev/null')),
    code(() => m.loadBinary('/dev/null')),
  ]`,
  true,
)

posixRow(
  'no /dev/zero on Windows, and symlinks need a privilege there',
  'a symlink to /dev/zero: ERR_MMAP_INVALID_ARG',
  [INVALID, INVALID],
  `const l = dir + '/zero'; fs.symlinkSync('/dev/zero', l)
  return [code(() => m.MmapArray.open(l, { mode: 'r' })), code(() => new m.MmapCache().getOrCreate(l))]`,
  true,
)

posixRow(
  'listen(path) makes a named pipe on Windows, not a socket file',
  'a unix socket: ERR_MMAP_INVALID_ARG (README: a device, FIFO or socket)',
  [INVALID, INVALID, INVALID],
  `const s = dir + '/sock'
  const srv = net.createServer()
  await new Promise((r) => srv.listen(s, r))
  const out = [code(() => m.MmapArray.open(s, { mode: 'r' })), code(() => m.mmapFile(s)), code(() => m.openNpy(s))]
  srv.close()
  return out`,
  true,
)

posixRow(
  NOT_ON_WINDOWS.proc,
  'a /proc file (a regular file that reports size 0): an empty array; a shape is ERR_MMAP_SIZE_MISMATCH',
  [0, MISMATCH],
  `return [
    m.MmapArray.open('/proc/self/status', { dtype: 'uint8', mode: 'r' }).size,
    code(() => m.MmapArray.open('/proc/self/status', { dtype: 'uint8', mode: 'r', shape: [1] })),
  ]`,
)

posixRow(
  'symlinks (dangling, looping) need a privilege on Windows; ELOOP, ENOTDIR and ENAMETOOLONG are POSIX errnos',
  'path errors keep the OS codes: ENOENT, ELOOP, ENOTDIR, ENAMETOOLONG',
  ['ENOENT', 'ENOENT', 'ELOOP', 'ENOTDIR', 'ENAMETOOLONG', 'ENOENT'],
  `const p = f64('a.f8', [1])
  fs.symlinkSync(dir + '/nowhere', dir + '/dangling')
  fs.symlinkSync(dir + '/loop-b', dir + '/loop-a')
  fs.symlinkSync(dir + '/loop-a', dir + '/loop-b')
  return [
    code(() => m.MmapArray.open(dir + '/missing')),
    code(() => m.MmapArray.open(dir + '/dangling')),
    code(() => m.MmapArray.open(dir + '/loop-a')),
    code(() => m.MmapArray.open(p + '/x')),
    code(() => m.MmapArray.open(dir + '/' + 'x'.repeat(300))),
    code(() => new m.MmapCache().getOrCreate(dir + '/missing')),
  ]`,
)

// ---------------------------------------------------------------------------------------------
// Permissions (the child drops to nobody when run as root)

posixRow(
  'no Unix permission bits on Windows: chmod cannot take read access away (it sets the read-only attribute)',
  'a file without read permission: EACCES through every opener',
  ['EACCES', 'EACCES', 'EACCES', 'EACCES', 'EACCES'],
  `const p = f64('secret.f8', [1, 2])
  fs.chmodSync(p, 0o600)
  if (root) dropRoot()
  else fs.chmodSync(p, 0)
  return [
    code(() => m.MmapArray.open(p, { mode: 'r' })),
    code(() => m.loadBinary(p)),
    code(() => m.openNpy(p)),
    code(() => m.mmapFile(p)),
    code(() => new m.MmapCache().getOrCreate(p)),
  ]`,
)

row(
  "mode 'r+' (and SharedMemoryArray.open) on a read-only file: EACCES; mode 'r' opens and private writes are harmless",
  ['EACCES', 'EACCES', 'EACCES', 'ok', [1, 2]],
  `const p = f64('ro.f8', [1, 2])
  fs.chmodSync(p, 0o444)
  dropRoot()
  let wrote = 'not opened'
  try {
    const a = m.MmapArray.open(p, { mode: 'r' })
    a.array[0] = 9
    a.array.fill(5)
    wrote = 'ok'
  } catch (e) {
    wrote = codeOf(e)
  }
  return [
    code(() => m.MmapArray.open(p, { mode: 'r+' })),
    code(() => m.mmapFile(p, { mode: 'r+' })),
    code(() => m.SharedMemoryArray.open(p)),
    wrote,
    f64s(p),
  ]`,
)
scenarios[scenarios.length - 1].wine =
  'Wine keeps the read-only attribute as Unix mode 0444, which root ignores: the open succeeds (Windows denies it)'

posixRow(
  "no Unix permission bits on Windows: a directory's read-only attribute does not stop creating files in it",
  'creating in a directory without write permission: EACCES, nothing left behind',
  ['EACCES', 'EACCES', 'EACCES', []],
  `const d = dir + '/locked'
  fs.mkdirSync(d)
  if (root) { fs.chmodSync(d, 0o755); dropRoot() } else fs.chmodSync(d, 0o555)
  return [
    code(() => m.MmapArray.create(d + '/x.f8', { shape: 4 })),
    code(() => m.saveNpy(d + '/x.npy', new Float64Array(4))),
    code(() => m.saveBinary(d + '/x.bin', new Float64Array(4), { overwrite: true })),
    fs.readdirSync(d),
  ]`,
)

// ---------------------------------------------------------------------------------------------
// Another process changes the file before open

row(
  'a file truncated by another process before open: an explicit shape is ERR_MMAP_SIZE_MISMATCH',
  [MISMATCH, MISMATCH, MISMATCH, [5], [1, 2, 3, 4, 5]],
  `const p = f64('t.f8', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  m.MmapArray.open(p, { shape: [10] }).close()
  truncate(p, 40)
  const inferred = m.MmapArray.open(p, { mode: 'r' })
  return [
    code(() => m.MmapArray.open(p, { shape: [10] })),
    code(() => m.MmapArray.open(p, { shape: [2], offset: 32 })),
    code(() => m.mmapFile(p, { length: 80 })),
    inferred.shape,
    [...inferred.array],
  ]`,
)

row(
  'a file truncated to a ragged or zero size before open: ERR_MMAP_SIZE_MISMATCH',
  [MISMATCH, MISMATCH, [0]],
  `const p = f64('t.f8', [1, 2, 3, 4])
  truncate(p, 29)
  const ragged = code(() => m.MmapArray.open(p))
  truncate(p, 0)
  return [ragged, code(() => m.MmapArray.open(p, { shape: [4] })), m.MmapArray.open(p).shape]`,
)

row(
  'a file grown by another process before open: it opens, the shape given still sees the old data',
  [
    [1, 2, 3, 4],
    [516, 0],
  ],
  `const p = f64('g.f8', [1, 2, 3, 4])
  truncate(p, '+4096')
  const a = m.MmapArray.open(p, { shape: [4] })
  const b = m.MmapArray.open(p, { mode: 'r' })
  return [[...a.array], [b.size, b.get(-1)]]`,
)

row(
  'a .npy truncated by another process before open: ERR_MMAP_SIZE_MISMATCH in the data, ERR_MMAP_FORMAT in the header',
  [MISMATCH, FORMAT, FORMAT],
  `const p = dir + '/t.npy'
  m.saveNpy(p, new Float64Array(100))
  m.openNpy(p).close()
  truncate(p, 500)
  const data = code(() => m.openNpy(p))
  truncate(p, 100)
  const header = code(() => m.openNpy(p))
  truncate(p, 0)
  return [data, header, code(() => m.openNpy(p))]`,
)

row(
  'MmapCache: an entry reopened after the file was truncated is ERR_MMAP_SIZE_MISMATCH',
  [MISMATCH, MISMATCH],
  `const p = f64('t.f8', [1, 2, 3, 4, 5, 6, 7, 8])
  const c = new m.MmapCache()
  c.getOrCreate(p, { shape: [8] })
  c.delete(p)
  const q = f64('u.f8', [1, 2, 3, 4, 5, 6, 7, 8])
  c.getOrCreate(q, { shape: [8] }).close()
  truncate(p, 16)
  truncate(q, 16)
  return [code(() => c.getOrCreate(p, { shape: [8] })), code(() => c.getOrCreate(q, { shape: [8] }))]`,
)

// ---------------------------------------------------------------------------------------------

describe('hostile use', () => {
  it('has at least 45 scenarios, each with a unique name', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(45)
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length)
  })

  for (const { name, body, expected, watchdog, nodeArgs, posix, wine } of scenarios) {
    const title = posix ? posixTest(name, posix) : wine ? wineTest(name, wine) : name
    it.skipIf((WINDOWS && posix !== undefined) || (WINE && wine !== undefined))(title, () => {
      const r = runChild((watchdog ? WATCHDOG : '') + PRELUDE + EPILOGUE(body), { nodeArgs })
      expectCleanExit(r)
      const lines = r.stdout.trim().split(/\r?\n/)
      expect(JSON.parse(lines[lines.length - 1]), r.stderr).toEqual(expected)
    })
  }
})
