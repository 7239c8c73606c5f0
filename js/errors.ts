import { getSystemErrorMap } from 'node:util'

/** Every error thrown by memmap. `code` is an OS code (`ENOENT`, ...) or one of `ErrorCode`. */
export type ErrorCode =
  | 'ERR_MMAP_INVALID_ARG'
  | 'ERR_MMAP_SIZE_MISMATCH'
  | 'ERR_MMAP_ALIGNMENT'
  | 'ERR_MMAP_READONLY'
  | 'ERR_MMAP_CLOSED'
  | 'ERR_MMAP_FORMAT'
  | 'ERR_MMAP_EXTERNAL_BUFFERS'
  /** The process at the other end of a `Channel` exited without `end()` while this side waited. */
  | 'ERR_MMAP_PEER_GONE'
  /** A bug in memmap or the runtime (Node-API refused a call no input should make fail): please report it. */
  | 'ERR_MMAP_INTERNAL'

export class MmapError extends Error {
  /** `ERR_MMAP_*`, or the OS error name `fs` would use (`ENOENT`, `EACCES`, `EEXIST`, ...). */
  readonly code: string
  /** The file the error is about, where there is one. */
  declare readonly path?: string
  /** The failing system call, for OS errors. */
  declare readonly syscall?: string

  constructor(code: string, message: string, details: { path?: string; syscall?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'MmapError'
    this.code = code
    if (details.path !== undefined) this.path = details.path
    if (details.syscall !== undefined) this.syscall = details.syscall
  }
}

/** @internal */
export function mmapError(code: ErrorCode, message: string, path?: string): MmapError {
  return new MmapError(code, path === undefined ? message : `${message} (path '${path}')`, { path })
}

/** @internal */
export function invalidArg(message: string, path?: string): MmapError {
  return mmapError('ERR_MMAP_INVALID_ARG', message, path)
}

/** The `name` of the errors the binding makes (`NAME` in src/error.rs). */
const NATIVE_ERROR = 'MmapNativeError'

/** What the binding throws (and rejects with): the detail in `message`, the rest as properties. */
interface NativeError extends Error {
  code: string
  path?: string
  syscall?: string
  /** The OS's own error: its text is replaced by the one Node's `fs` gives for the code. */
  os?: boolean
}

function isNative(err: unknown): err is NativeError {
  return err instanceof Error && err.name === NATIVE_ERROR && typeof (err as NativeError).code === 'string'
}

let described: Map<string, string> | undefined
/** What Node (libuv) calls each OS error code, the same on every platform: "no such file or directory". */
function description(code: string): string | undefined {
  described ??= new Map([...getSystemErrorMap().values()].map(([name, text]) => [name, text]))
  return described.get(code)
}

/**
 * The binding's errors carry `code`, `path`, `syscall` and `os` as properties (see
 * `src/error.rs`); rebuild them here, the one place that decides what a user sees. Anything else a
 * binding call throws (Node-API refusing an argument, say) is a bug of ours, not of the caller's:
 * `ERR_MMAP_INTERNAL`, with the original error as its `cause`.
 * @internal
 */
export function fromNative(err: unknown): MmapError {
  if (!isNative(err)) return internal(err)
  const { code, path, syscall } = err
  let message: string
  if (syscall !== undefined) {
    // The shape of Node's own fs errors: "ENOENT: no such file or directory, open '/x'".
    const text = (err.os === true ? description(code) : undefined) ?? err.message
    message = `${code}: ${text}, ${syscall}${path === undefined ? '' : ` '${path}'`}`
  } else {
    message = path === undefined ? err.message : `${err.message} (path '${path}')`
  }
  return new MmapError(code, message, { path, syscall })
}

function internal(err: unknown): MmapError {
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return new MmapError('ERR_MMAP_INTERNAL', `internal error in memmap, please report it with this message: ${what}`, {
    cause: err,
  })
}

/** An error thrown by `node:fs`, as an `MmapError` with the same code, path and syscall. @internal */
export function fromFs(err: unknown): unknown {
  if (err instanceof MmapError || !(err instanceof Error) || typeof (err as NodeJS.ErrnoException).code !== 'string')
    return err
  const e = err as NodeJS.ErrnoException
  return new MmapError(e.code as string, e.message, { path: e.path, syscall: e.syscall })
}

/** Runs a binding call, turning its errors into `MmapError`s. @internal */
export function native<T>(call: () => T): T {
  try {
    return call()
  } catch (err) {
    throw fromNative(err)
  }
}
