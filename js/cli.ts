#!/usr/bin/env node
// The `memmap` command: look into array files from a shell.
//   memmap info FILE [--dtype D] [--offset N] [--json]
//   memmap stats FILE [--dtype D] [--shape 3,4] [--offset N] [--json]
//   memmap head FILE [-n 10] [--dtype D] [--shape ...] [--offset N] [--json]
//   memmap info model.safetensors [--json]             every tensor, with totals
//   memmap stats model.safetensors --tensor NAME [--json]
// .npy files are read with the dtype and shape of their header; *.safetensors files (or any file
// given --tensor) as safetensors. Exit codes: 0 success,
// 1 the file could not be read as asked (an MmapError), 2 bad usage.
import { statSync } from 'node:fs'
import { parseArgs } from 'node:util'

import './dispose.js'
import type { ArrayInit } from './mapped-array.js'
import { arrayFromInit, openInit, type OpenOptions } from './mmap-array.js'
import { DTYPES, toDType, viewAs } from './dtype.js'
import { MmapError } from './errors.js'
import { openNpyOrRaw } from './npy.js'
import { openSafetensors, tensorInit } from './safetensors.js'

const USAGE = `usage: memmap <command> FILE [options]

commands:
  info FILE     size, and the dtype and shape (from a .npy header, or inferred from --dtype);
                for a .safetensors file every tensor's name, dtype, shape and size, with totals
  stats FILE    count, sum, mean, std, min, max (native, with a progress bar on large files)
  head FILE     the first rows

options:
  --dtype D     element type of a raw file (default float64): int8 ... float64, float16, bfloat16, bool, or numpy's 'f4', '<i8', ...
  --shape S     shape of a raw file, e.g. 1000,784 (default: 1-D over the file)
  --offset N    bytes to skip at the start of a raw file (default 0)
  --tensor NAME the tensor of a safetensors file that stats and head read
  -n N          rows for head (default 10)
  --json        machine-readable output
  -h, --help    this text`

class UsageError extends Error {}

interface Options {
  dtype?: string
  shape?: string
  offset?: string
  n?: string
  tensor?: string
  json?: boolean
}

/** Read as safetensors: by the file's extension, or because a tensor was named. */
const isSafetensors = (path: string, o: Options): boolean =>
  o.tensor !== undefined || path.toLowerCase().endsWith('.safetensors')

/** The layout options, if any is given: then the file is read raw whatever its first bytes are. */
function rawLayout(o: Options): OpenOptions | undefined {
  if (o.dtype === undefined && o.shape === undefined && o.offset === undefined) return undefined
  const shape = o.shape === undefined ? undefined : o.shape.split(',').map((d) => toInt('--shape', d))
  const offset = o.offset === undefined ? 0 : toInt('--offset', o.offset)
  return { dtype: o.dtype ?? 'float64', shape, offset, mode: 'r' }
}

/**
 * One open of the file: a .npy file with the dtype and shape of its header unless a layout
 * option overrides it, anything else raw (float64 unless told).
 */
function open(path: string, o: Options): ArrayInit {
  if (isSafetensors(path, o)) {
    if (o.tensor === undefined) throw new UsageError('a safetensors file needs --tensor NAME for stats and head')
    if (rawLayout(o) !== undefined) throw new UsageError('--dtype, --shape and --offset do not apply to safetensors')
    const file = openSafetensors(path)
    try {
      // The caller closes the tensor's mapping; the file's stays mapped until this command exits.
      return tensorInit(file, o.tensor)
    } catch (err) {
      file.close()
      throw err
    }
  }
  const raw = rawLayout(o)
  if (raw !== undefined) return openInit(path, raw)
  return openNpyOrRaw(path, 'r', (map) => openInit(path, { dtype: 'float64', mode: 'r' }, map)).init
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
  if (isSafetensors(path, o)) return safetensorsInfo(path)
  const size = statSync(path).size
  // The dtype and shape are what openNpy makes of the header, so the rules (and their errors:
  // an unsupported dtype is ERR_MMAP_FORMAT) have one owner.
  const npy = openNpyOrRaw(path, 'r')
  if (npy?.header !== undefined) {
    const { init, header } = npy
    init.map.close()
    return {
      path,
      format: `npy ${header.version.join('.')}`,
      bytes: size,
      dtype: init.dtype.name,
      shape: [...init.shape],
      dataOffset: header.dataOffset,
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

function safetensorsInfo(path: string): Record<string, unknown> {
  using file = openSafetensors(path, { mode: 'r' })
  const tensors = file.names().map((name) => ({ name, ...file.info(name) }))
  const elements = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0)
  return {
    path,
    format: 'safetensors',
    bytes: statSync(path).size,
    tensors,
    count: tensors.length,
    elements,
    dataBytes: tensors.reduce((n, t) => n + t.byteLength, 0),
    metadata: { ...file.metadata },
  }
}

/** `info` of a safetensors file as text: one line per tensor, then the totals and metadata. */
function printSafetensors(result: Record<string, unknown>): void {
  const tensors = result.tensors as { name: string; dtype: string; shape: number[]; byteLength: number }[]
  const rows = tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, String(t.byteLength)])
  const head = ['name', 'dtype', 'shape', 'bytes']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  for (const r of [head, ...rows]) {
    process.stdout.write(`${r.map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')}\n`)
  }
  process.stdout.write(
    `total: ${String(result.count)} tensors, ${String(result.elements)} elements, ${String(result.dataBytes)} bytes of data (file ${String(result.bytes)} bytes)\n`,
  )
  for (const [k, v] of Object.entries(result.metadata as Record<string, string>)) {
    process.stdout.write(`metadata ${k}: ${v}\n`)
  }
}

/** Files larger than this get a progress bar (on a terminal). */
const PROGRESS_BYTES = 256 * 2 ** 20
const MiB = 2 ** 20

/**
 * One native pass over the whole file, off the main thread (memmap-core's `stats_of`): every
 * number comes from the core, and its progress reports move the bar.
 */
async function stats(path: string, o: Options, json: boolean): Promise<Record<string, unknown>> {
  const { SingleBar } = await import('cli-progress')
  const { map, dtype } = open(path, o)
  const bar =
    !json && process.stderr.isTTY && map.byteLength > PROGRESS_BYTES
      ? new SingleBar({ format: 'memmap stats [{bar}] {percentage}% | {value}/{total} MiB', hideCursor: true })
      : undefined
  try {
    bar?.start(Math.ceil(map.byteLength / MiB), 0)
    const s = await map.stats(dtype.name, bar && ((bytes) => bar.update(Math.ceil(bytes / MiB))))
    return {
      path,
      ...(o.tensor === undefined ? {} : { tensor: o.tensor }),
      dtype: dtype.name,
      count: s.count,
      sum: show(s.sum),
      mean: s.mean,
      std: s.std,
      min: show(s.min),
      max: show(s.max),
    }
  } finally {
    bar?.stop()
    map.close()
  }
}

function head(path: string, o: Options): Record<string, unknown> {
  const rows = o.n === undefined ? 10 : toInt('-n', o.n)
  using arr = arrayFromInit(open(path, o))
  const take = arr.ndim === 0 ? 0 : Math.min(rows, arr.shape[0])
  const out: unknown[] = []
  if (arr.ndim === 0) out.push(show(arr.get()))
  // float16 and bfloat16 rows are read as their bits and decoded: values, whatever the view type.
  const half = DTYPES[arr.dtype].half
  for (let r = 0; r < take; r++) {
    const row = arr.slice(r, r + 1)
    out.push(half ? Array.from(viewAs(row, Uint16Array) as Uint16Array, half.decode) : Array.from(row, show))
  }
  return { path, dtype: arr.dtype, shape: [...arr.shape], rows: arr.ndim <= 1 ? out.flat() : out }
}

function print(result: Record<string, unknown>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  if (result.format === 'safetensors') {
    printSafetensors(result)
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
        tensor: { type: 'string' },
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
