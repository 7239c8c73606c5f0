import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { invalidArg } from './errors.js'

/** A file path as `fs` takes it: a string or a `file:` URL. */
export type PathLike = string | URL

/** @internal */
export function toPath(path: unknown): string {
  if (path instanceof URL) return fileURLToPath(path)
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw invalidArg(`path must be a non-empty string or a file: URL, got ${describe(path)}`)
  }
  return resolve(path)
}

/** @internal */
export function options<T extends object>(value: T | undefined, what: string): Partial<T> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArg(`${what} options must be an object, got ${describe(value)}`)
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
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`
  if (value !== null && typeof value === 'object') return value.constructor?.name ?? 'object'
  return String(value)
}
