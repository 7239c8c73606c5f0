import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

import { afterAll, expect } from 'vitest'

export const DIST = resolve(__dirname, '..', 'dist')
/** The child processes' code (`runFixture`): JavaScript modules, linted and type-checked. */
export const FIXTURES = resolve(__dirname, 'fixtures')
/** `import(...)` takes URLs: an absolute Windows path (`C:\...`) is not one. */
export const importable = (path: string): string => pathToFileURL(path).href

export const WINDOWS = process.platform === 'win32'

/**
 * The name of a test of a POSIX fact Windows does not have (`why`: /proc, FIFOs, signals,
 * symlinks, Unix modes, uids), for `it.skipIf(WINDOWS)(posixTest(name, why), ...)`. On Windows the
 * reason is in the skipped test's name and printed, so the run says why it skipped.
 */
export function posixTest(name: string, why: string): string {
  if (!WINDOWS) return name
  console.log(`skipped on Windows: ${name}: ${why}`)
  return `${name} [skipped on Windows: ${why}]`
}

/**
 * Running under Wine (scripts/test-windows.sh says so): Wine is not Windows, and the few things it
 * does differently are skipped there with the reason, never on Windows itself.
 */
export const WINE = WINDOWS && process.env.MEMMAP_WINE === '1'

/** The name of a test skipped under Wine, with the reason printed (see `WINE`). */
export function wineTest(name: string, why: string): string {
  if (!WINE) return name
  console.log(`skipped under Wine: ${name}: ${why}`)
  return `${name} [skipped under Wine: ${why}]`
}

/**
 * Running under qemu-user (scripts/test-arm64.sh says so). qemu-user keeps memory of its own for
 * every mmap/munmap pair (a C loop of open, mmap, munmap, close grows RssAnon by ~380 bytes a
 * pair under qemu-aarch64 and by nothing natively), so resident-memory bounds of mapping loops
 * measure the emulator there: those checks are skipped under qemu, saying so.
 */
export const QEMU = process.env.MEMMAP_QEMU === '1'

/** For one check inside a test that qemu-user distorts (`why`, printed there): false under qemu. */
export function nativeCheck(why: string): boolean {
  if (QEMU) console.log(`check skipped under qemu-user: ${why}`)
  return !QEMU
}

/** Why a test skips on Windows, by the POSIX fact it checks. */
export const NOT_ON_WINDOWS = {
  symlinks: 'creating symlinks needs a privilege on Windows',
  proc: 'no /proc on Windows (mappings, fds and resident memory are read from /proc/self)',
  fifo: 'no FIFOs (mkfifo) on Windows',
  modes: 'no Unix permission bits on Windows (fs.chmod only sets the read-only attribute)',
  signals: 'no POSIX signals on Windows',
} as const

/** For one check inside a test that Windows cannot make (`why`, printed there): false on Windows. */
export function posixCheck(why: string): boolean {
  if (WINDOWS) console.log(`check skipped on Windows: ${why}`)
  return !WINDOWS
}

/** A fresh directory, removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-test-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface ChildResult {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface FixtureOptions {
  /** Node's own options, before the script (`--expose-gc`, `--max-old-space-size=64`). */
  nodeArgs?: string[]
  env?: Record<string, string>
  /** Milliseconds after which the child kills itself (fixtures/watchdog.mjs): a hang fails the test. */
  watchdog?: number
}

/**
 * Runs `scenario`, an export of `fixtures/<module>.mjs`, with `args` in a child Node process
 * (fixtures/run.mjs), so that a crash kills the child and fails the test instead of the runner.
 * The scenario's outcome is the last line of stdout, as JSON (`outcomeOf`).
 */
export function runFixture(
  module: string,
  scenario: string,
  args: string[] = [],
  { nodeArgs = [], env = {}, watchdog }: FixtureOptions = {},
): ChildResult {
  const r = spawnSync(process.execPath, [...nodeArgs, ...fixtureCommand(module, scenario, args)], {
    encoding: 'utf8',
    env: { ...process.env, ...env, ...(watchdog === undefined ? {} : { MEMMAP_WATCHDOG: String(watchdog) }) },
    timeout: 120_000,
  })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

/** The arguments for `spawn(process.execPath, ...)` that run `scenario` of fixtures/<module>.mjs (see `runFixture`). */
export function fixtureCommand(module: string, scenario: string, args: string[] = []): string[] {
  return [join(FIXTURES, 'run.mjs'), module, scenario, ...args]
}

/** What a fixture's scenario returned: the last line of its stdout, parsed (bigints are '5n', NaN 'NaN'). */
export function outcomeOf(r: ChildResult): any {
  const lines = r.stdout.trim().split(/\r?\n/)
  return JSON.parse(lines[lines.length - 1])
}

/** `runFixture` that must end cleanly (`expectCleanExit`); the scenario's outcome. */
export function fixture(module: string, scenario: string, args: string[] = [], opts: FixtureOptions = {}): any {
  const r = runFixture(module, scenario, args, opts)
  expectCleanExit(r)
  return outcomeOf(r)
}

/** The child ended normally with exit code 0: no signal (SIGSEGV, SIGBUS, SIGABRT). */
export function expectCleanExit(r: ChildResult): void {
  expect(r.signal, `child died by signal; stderr:\n${r.stderr}`).toBeNull()
  expect(r.status, `child failed; stderr:\n${r.stderr}`).toBe(0)
}

/** How many mappings of `path` this process has, from /proc/self/maps (Linux: guard with posixCheck). */
export function mappingsOf(path: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(` ${path}`)).length
}

/** Calls `fn` and returns the error it throws, failing if it returns. */
export function thrown(fn: () => unknown): any {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected an error, none was thrown')
}

/** The file's bytes as a typed array of `ctor` (a copy, aligned). */
export function fileAs<T>(ctor: new (b: ArrayBuffer) => T, path: string): T {
  return new ctor(Uint8Array.from(readFileSync(path)).buffer)
}

/**
 * Opens `count` mappings of `path` with `opener` (fixtures/dropped.mjs names them), drops them
 * without close(), collects garbage, and returns how many mappings of `path` the child had
 * before and after. Runs in a child started with --expose-gc.
 */
export function droppedMappings(
  path: string,
  opener: 'mmapFile' | 'MmapArray.open',
  count: number,
): { held: number; after: number } {
  return fixture('dropped', 'dropped', [path, opener, String(count)], { nodeArgs: ['--expose-gc'] })
}

/**
 * The versions of the Python `modules` (in that order) for the interop tests of `what`, or
 * undefined when python3 cannot import them: then the tests skip with a printed reason. Under
 * Wine there is no Windows Python here; in CI (`.ci/run` installs them) a missing module is an
 * error, not a skip.
 */
export function pythonModules(modules: string[], what: string): string[] | undefined {
  const code = `import ${modules.join(', ')}; print(' '.join(m.__version__ for m in (${modules.join(', ')},)))`
  const probe = WINE ? undefined : spawnSync('python3', ['-c', code], { encoding: 'utf8' })
  if (probe?.status === 0) return probe.stdout.trim().split(' ')
  const why = WINE
    ? 'there is no Windows Python under Wine here (these tests run on Linux, Node 20-26)'
    : `${modules.join(', ')} not importable by python3 (python3 -m pip install ${modules.map((m) => m.replace('_', '-')).join(' ')})`
  if (process.env.CI && !WINE) throw new Error(`${what} cannot run in CI: ${why}`)
  console.warn(`SKIPPING ${what}: ${why}`)
  return undefined
}
