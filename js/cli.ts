#!/usr/bin/env node
// The `memmap` command: look into array files from a shell.
//   memmap info FILE [--dtype D] [--offset N] [--json]
//   memmap stats FILE [--dtype D] [--shape 3,4] [--offset N] [--json]
//   memmap head FILE [-n 10] [--dtype D] [--shape ...] [--offset N] [--json]
// .npy files are read with the dtype and shape of their header. Exit codes: 0 success,
// 1 the file could not be read as asked (an MmapError), 2 bad usage.
import { statSync } from 'node:fs'
import { parseArgs } from 'node:util'

import './dispose.js'
import { MmapArray, type MappedArray } from './array.js'
import { DTYPES, toDType } from './dtype.js'
import { MmapError } from './errors.js'
import { parseNpyHeader } from './npy-header.js'
import { openNpy, readHead } from './npy.js'

const USAGE = `usage: memmap <command> FILE [options]

commands:
  info FILE     size, and the dtype and shape (from a .npy header, or inferred from --dtype)
  stats FILE    count, sum, mean, std, min, max (native, with a progress bar on large files)
  head FILE     the first rows

options:
  --dtype D     element type of a raw file (default float64): int8 ... float64, bool, or numpy's 'f4', '<i8', ...
  --shape S     shape of a raw file, e.g. 1000,784 (default: 1-D over the file)
  --offset N    bytes to skip at the start of a raw file (default 0)
  -n N          rows for head (default 10)
  --json        machine-readable output
  -h, --help    this text`

class UsageError extends Error {}

interface Options {
  dtype?: string
  shape?: string
  offset?: string
  n?: string
  json?: boolean
}

function isNpy(path: string): boolean {
  try {
    const head = readHead(path)
    return head.length >= 6 && head[0] === 0x93 && String.fromCharCode(...head.subarray(1, 6)) === 'NUMPY'
  } catch {
    return false
  }
}

/** Raw unless the file is .npy and no layout option overrides its header. */
function rawRequested(path: string, o: Options): boolean {
  return !isNpy(path) || o.dtype !== undefined || o.shape !== undefined || o.offset !== undefined
}

function open(path: string, o: Options): MappedArray {
  if (!rawRequested(path, o)) return openNpy(path)
  const shape = o.shape === undefined ? undefined : o.shape.split(',').map((d) => toInt('--shape', d))
  const offset = o.offset === undefined ? 0 : toInt('--offset', o.offset)
  return MmapArray.open(path, { dtype: o.dtype ?? 'float64', shape, offset, mode: 'r' })
}

function toInt(flag: string, text: string): number {
  const n = Number(text.trim())
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`${flag} expects non-negative integers, got '${text}'`)
  }
  return n
}

const show = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v)

function info(path: string, o: Options): Record<string, unknown> {
  const size = statSync(path).size
  if (isNpy(path)) {
    // The dtype and shape are what openNpy makes of the header, so the rules (and their errors:
    // an unsupported dtype is ERR_MMAP_FORMAT) have one owner.
    using arr = openNpy(path)
    const h = parseNpyHeader(readHead(path), path)
    return {
      path,
      format: `npy ${h.version.join('.')}`,
      bytes: size,
      dtype: arr.dtype,
      shape: [...arr.shape],
      dataOffset: h.dataOffset,
    }
  }
  const dtype = toDType(o.dtype ?? 'float64', path)
  const offset = o.offset === undefined ? 0 : toInt('--offset', o.offset)
  const data = Math.max(0, size - offset)
  return {
    path,
    format: 'raw',
    bytes: size,
    dtype: dtype.name,
    shape: [Math.floor(data / dtype.itemsize)],
    offset,
    ...(data % dtype.itemsize ? { remainderBytes: data % dtype.itemsize } : {}),
  }
}

/**
 * Native reductions, window by window, so a progress bar can follow a large file: each window
 * is mapped on its own and the partial results are merged (Chan et al. for the variance).
 */
async function stats(path: string, o: Options, json: boolean): Promise<Record<string, unknown>> {
  const whole = open(path, o)
  const { dtype, size, itemsize } = whole
  whole.close()
  const base = rawRequested(path, o)
    ? o.offset === undefined
      ? 0
      : toInt('--offset', o.offset)
    : parseNpyHeader(readHead(path), path).dataOffset
  const info = DTYPES[dtype]
  const WINDOW = 256 * 2 ** 20
  const per = Math.max(1, Math.floor(WINDOW / itemsize))
  const steps = Math.ceil(size / per)
  const { SingleBar } = await import('cli-progress')
  const bar =
    !json && process.stderr.isTTY && size * itemsize > WINDOW
      ? new SingleBar({ format: 'memmap stats [{bar}] {percentage}% | {value}/{total} MiB', hideCursor: true })
      : undefined
  bar?.start(Math.ceil((size * itemsize) / 2 ** 20), 0)
  let n = 0
  let mean = 0
  let m2 = 0
  let sum: number | bigint = info.bigint ? 0n : 0
  let min: number | bigint | undefined
  let max: number | bigint | undefined
  let nan = false
  for (let k = 0; k < steps; k++) {
    const count = Math.min(per, size - k * per)
    const part = MmapArray.open(path, { dtype, shape: [count], offset: base + k * per * itemsize, mode: 'r' })
    try {
      const s = part.sum()
      const sd = part.std()
      const lo = part.min()
      const hi = part.max()
      sum = typeof s === 'bigint' ? (sum as bigint) + s : (sum as number) + s
      const m = Number(s) / count
      const delta = m - mean
      const total = n + count
      mean += (delta * count) / total
      m2 += sd * sd * count + (delta * delta * n * count) / total
      n = total
      if (Number.isNaN(lo) || Number.isNaN(hi)) nan = true
      if (min === undefined || lo < min) min = lo
      if (max === undefined || hi > max) max = hi
    } finally {
      part.close()
    }
    bar?.update(Math.ceil(((k * per + count) * itemsize) / 2 ** 20))
  }
  bar?.stop()
  return {
    path,
    dtype,
    count: n,
    sum: show(sum),
    mean: n ? Number(sum) / n : NaN,
    std: n ? Math.sqrt(m2 / n) : NaN,
    min: nan ? NaN : show(min ?? null),
    max: nan ? NaN : show(max ?? null),
  }
}

function head(path: string, o: Options): Record<string, unknown> {
  const rows = o.n === undefined ? 10 : toInt('-n', o.n)
  using arr = open(path, o)
  const take = arr.ndim === 0 ? 0 : Math.min(rows, arr.shape[0])
  const out: unknown[] = []
  if (arr.ndim === 0) out.push(show(arr.get()))
  for (let r = 0; r < take; r++) out.push(Array.from(arr.slice(r, r + 1), show))
  return { path, dtype: arr.dtype, shape: [...arr.shape], rows: arr.ndim <= 1 ? out.flat() : out }
}

function print(result: Record<string, unknown>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  for (const [k, v] of Object.entries(result)) {
    if (k === 'rows' && Array.isArray(v)) {
      for (const row of v) process.stdout.write(`${Array.isArray(row) ? row.join('\t') : String(row)}\n`)
    } else {
      process.stdout.write(`${k.padEnd(10)} ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}\n`)
    }
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dtype: { type: 'string' },
        shape: { type: 'string' },
        offset: { type: 'string' },
        n: { type: 'string', short: 'n' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    process.stderr.write(`memmap: ${(err as Error).message}\n\n${USAGE}\n`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const [command, file, ...extra] = positionals
  if (!command || !file || extra.length > 0 || !['info', 'stats', 'head'].includes(command)) {
    process.stderr.write(`${USAGE}\n`)
    return 2
  }
  const json = values.json === true
  try {
    const result =
      command === 'info'
        ? info(file, values)
        : command === 'stats'
          ? await stats(file, values, json)
          : head(file, values)
    print(result, json)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`memmap: ${err.message}\n`)
      return 2
    }
    if (err instanceof MmapError || (err as NodeJS.ErrnoException).code !== undefined) {
      const e = err as MmapError
      if (json)
        process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: e.message, path: e.path } })}\n`)
      process.stderr.write(`memmap: ${e.message.startsWith(`${e.code}:`) ? '' : `${e.code}: `}${e.message}\n`)
      return 1
    }
    throw err
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
