import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { invalidArg } from './errors.js'

/** A file path as `fs` takes it: a string or a `file:` URL. */
export type PathLike = string | URL

/** @internal */
export function toPath(path: unknown): string {
  let p = path
  if (path instanceof URL) {
    if (path.protocol !== 'file:') throw invalidArg(`path must be a file: URL, got a ${path.protocol} URL`)
    try {
      p = fileURLToPath(path)
    } catch (err) {
      throw invalidArg(`path ${path.href} is not a local file URL: ${(err as Error).message}`)
    }
  }
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) {
    throw invalidArg(`path must be a non-empty string or a file: URL without NUL bytes, got ${describe(path)}`)
  }
  return resolve(p)
}

/** The options object, with `null` values dropped: `null` means "not given". @internal */
export function options<T extends object>(value: T | undefined, what: string): Partial<T> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArg(`${what} options must be an object, got ${describe(value)}`)
  }
  for (const k in value) {
    if (value[k] === null) return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as Partial<T>
  }
  return value
}

/** A non-negative safe integer: a size, offset, length or index bound. @internal */
export function size(name: string, value: unknown, path?: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArg(`${name} must be a non-negative safe integer, got ${describe(value)}`, path)
  }
  return value
}

/** @internal */
export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], path?: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidArg(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`, path)
  }
  return value as T
}

/** @internal */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`
  if (Array.isArray(value)) {
    const head = value.slice(0, 8).map(describe).join(', ')
    return value.length > 8 ? `[${head}, ... ${value.length} items]` : `[${head}]`
  }
  if (value !== null && typeof value === 'object') return value.constructor?.name ?? 'object'
  return String(value)
}
