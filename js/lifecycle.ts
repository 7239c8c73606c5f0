import './dispose.js'
import { inspect, type InspectOptionsStylized } from 'node:util'

import { mmapError } from './errors.js'
import type { Advice, Mapping, Mode } from './mapping.js'

/**
 * What every object over one mapping has, with one set of rules: `closed`, `flush()`,
 * `flushAsync()`, `advise()`, `close()` and `[Symbol.dispose]()`. `MmapFile` and every mapped
 * array (`MmapArray`, `SharedMemoryArray`) extend it; it is never made on its own.
 */
export abstract class MappedResource implements Disposable {
  readonly #map: Mapping
  /** What the object is called in its errors: 'the array is closed'. */
  readonly #what: string
  /** The members `console.log` and `util.inspect` show (they are getters, not own properties). */
  readonly #shown: readonly string[]

  /** @internal */
  constructor(map: Mapping, what: string, shown: readonly string[]) {
    this.#map = map
    this.#what = what
    this.#shown = shown
  }

  get closed(): boolean {
    return this.#map.closed
  }

  /** `'r'` read-only, `'r+'` read-write, `'c'` copy-on-write. */
  get mode(): Mode {
    return this.#map.mode
  }

  get readonly(): boolean {
    return this.#map.mode === 'r'
  }

  /** msync: the data is on disk when it returns. A `'r'` map throws `ERR_MMAP_READONLY`. */
  flush(): void {
    assertOpen(this.#map, this.#what)
    this.#map.flush()
  }

  /**
   * `flush()` on the thread pool. Like every Promise-returning method it never throws: a closed
   * or read-only map rejects (`ERR_MMAP_CLOSED`, `ERR_MMAP_READONLY`).
   */
  async flushAsync(): Promise<void> {
    assertOpen(this.#map, this.#what)
    await this.#map.flushAsync()
  }

  /** A hint about how the memory will be used: `'normal'`, `'sequential'`, `'random'`, `'willneed'`, `'dontneed'`. */
  advise(advice: Advice): void {
    assertOpen(this.#map, this.#what)
    this.#map.advise(advice)
  }

  /** Unmaps. Every typed array handed out drops to length 0. Idempotent. */
  close(): void {
    this.#map.close()
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** @internal */
  [inspect.custom](depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    const name = this.constructor.name
    if (depth < 0) return options.stylize(`[${name}]`, 'special')
    const fields = Object.fromEntries(this.#shown.map((k) => [k, this[k as keyof this]]))
    return `${name} ${show(fields, { ...options, depth: options.depth == null ? options.depth : options.depth - 1 })}`
  }
}

/** Throws `ERR_MMAP_CLOSED` once `map` is closed; `what` names the object. @internal */
export function assertOpen(map: Mapping, what: string): void {
  if (map.closed) throw mmapError('ERR_MMAP_CLOSED', `the ${what} is closed`, map.path || undefined)
}
