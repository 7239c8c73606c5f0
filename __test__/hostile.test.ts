// Hostile use: every way a caller (or another process) can misuse the API, each in its own child
// process. A scenario passes when the child exits normally (no SIGSEGV, SIGBUS, SIGABRT, no hang)
// and prints the outcome the README promises: usually an MmapError with a given code.
//
// Not tested, by design: truncating a file under a live map. Touching the lost pages raises SIGBUS
// and no mmap library can turn that into an exception (README, Limits). What is tested is the part
// the library owns: a file truncated (or grown) by another process *before* open is caught by the
// size checks.
//
// The scenarios' code is in fixtures/hostile/ (linted and type-checked: fixtures/tsconfig.json),
// one module per kind of attack, one export per scenario; fixtures/run.mjs runs one in a child
// process and prints what it returns. This file keeps what each scenario must come out as.
import { describe, expect, it } from 'vitest'

import {
  expectCleanExit,
  NOT_ON_WINDOWS,
  outcomeOf,
  posixCheck,
  posixTest,
  runFixture,
  tempDir,
  WINDOWS,
  WINE,
  wineTest,
} from './helpers'

const dir = tempDir()

/** How long a scenario run under the watchdog may take before it is killed (a failed test). */
const WATCHDOG_MS = 10_000

/** The attacks, as modules: fixtures/hostile/<group>.mjs. */
type Group = 'closed' | 'readonly' | 'arguments' | 'npy' | 'sizes' | 'files' | 'resized'

interface Scenario {
  name: string
  /** fixtures/hostile/<group>.mjs exports `scenario`, called with `args`; it returns the outcome. */
  group: Group
  scenario: string
  args: string[]
  expected: unknown
  /** Run under the watchdog: for calls that could block. */
  watchdog?: boolean
  nodeArgs?: string[]
  /** A POSIX fact Windows does not have: the scenario skips there, saying this. */
  posix?: string
  /** Something Wine does not do as Windows does: the scenario skips under Wine, saying this. */
  wine?: string
}

type Options = Pick<Scenario, 'watchdog' | 'nodeArgs' | 'posix' | 'wine'>

const scenarios: Scenario[] = []
/** A scenario: the export `scenario` of fixtures/hostile/<group>.mjs, given `args`, must return `expected`. */
const row = (
  name: string,
  expected: unknown,
  [group, scenario, ...args]: [Group, string, ...string[]],
  options: Options = {},
) => scenarios.push({ name, group, scenario, args, expected, ...options })
/** `row` for a POSIX fact Windows does not have (`why`): the scenario skips there, saying why. */
const posixRow = (why: string, ...[name, expected, run, options]: Parameters<typeof row>) =>
  row(name, expected, run, { ...options, posix: why })

/**
 * The outcome of a scenario that makes `count` calls in turn (`calls` in fixtures/hostile/helpers.mjs),
 * each expected to come out as `each`. The outcome is keyed by the call's text, so a failure names the
 * call that differs; `extra` are the checks (a key and its expected value) made after the calls.
 */
class Calls {
  constructor(
    readonly each: unknown,
    readonly count: number,
    readonly extra: Record<string, unknown> = {},
  ) {}
}

const INVALID = 'ERR_MMAP_INVALID_ARG'
const CLOSED = 'ERR_MMAP_CLOSED'
const READONLY = 'ERR_MMAP_READONLY'
const MISMATCH = 'ERR_MMAP_SIZE_MISMATCH'
const FORMAT = 'ERR_MMAP_FORMAT'

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
  row(`closed MmapArray: ${expr} throws ERR_MMAP_CLOSED`, [CLOSED, true], ['closed', 'arrayMember', expr])
}

row('closed MmapArray: flushAsync() rejects with ERR_MMAP_CLOSED', CLOSED, ['closed', 'arrayFlushAsync'])

row(
  'closed MmapArray: metadata stays readable',
  [[4], 'float64', 4, 1, 4, 32, { path: 'ok', shape: [4], dtype: 'float64', byteLength: 32, readonly: false }],
  ['closed', 'arrayMetadata'],
)

row(
  'closed MmapArray: views taken before close() have length 0 and writes into them are harmless',
  {
    lengths: [0, 0, 0, 0, 0, 0],
    reads: ['undefined', 'undefined', 'undefined', 'undefined'],
    file: [1, 2, 3, 4, 5, 6],
  },
  ['closed', 'arrayViews'],
)

row(
  'closed MmapArray: close() twice and [Symbol.dispose]() after close() are no-ops',
  [true, 'ok', 'ok'],
  ['closed', 'arrayCloseTwice'],
)

row(
  'close() inside for...of a.chunks() ends the loop with ERR_MMAP_CLOSED at the next step',
  [CLOSED, [[0, 2], 0, 'undefined']],
  ['closed', 'closeInsideChunks'],
)

row(
  'close() inside for...of a.chunks() then break: the loop ends cleanly',
  ['ok', 1, true],
  ['closed', 'closeInsideChunksThenBreak'],
)

row(
  'close() while flushAsync() is in flight: both settle, the data reaches the file',
  ['ok', true, [7, 7, 7, 7]],
  ['closed', 'closeWhileFlushAsync'],
)

row(
  'closed createSharedBuffer array: members throw ERR_MMAP_CLOSED, views are empty',
  [CLOSED, CLOSED, CLOSED, 0, ''],
  ['closed', 'sharedBuffer'],
)

row(
  'closed MmapFile: bytes (and views of it) have length 0, writes are harmless, the file is unchanged',
  [0, 0, 0, 0, 'undefined', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]],
  ['closed', 'fileViews'],
)

for (const expr of ['f.flush()', "f.advise('willneed')", 'f.flushAsync()']) {
  row(`closed MmapFile: ${expr} is ERR_MMAP_CLOSED`, [CLOSED, true], ['closed', 'fileMember', expr])
}

row(
  'closed MmapFile: close() twice and [Symbol.dispose]() are no-ops',
  ['ok', 'ok', true],
  ['closed', 'fileCloseTwice'],
)

row(
  'SharedMemoryArray.unlink(): members throw ERR_MMAP_CLOSED, open(path) is ENOENT, unlink() is idempotent',
  [CLOSED, CLOSED, CLOSED, CLOSED, CLOSED, CLOSED, 0, 'ENOENT', 'ok', false],
  ['closed', 'unlinked'],
)

row(
  'SharedMemoryArray.unlink() by one handle leaves another attached handle working; the name is gone ' +
    '(on Windows once no process maps the region)',
  // Windows keeps a named file mapping's name while any process maps it (README, Platforms).
  [5, CLOSED, WINDOWS ? 'ok' : 'ENOENT', 'ENOENT'],
  ['closed', 'unlinkedByAnotherHandle'],
)

// ---------------------------------------------------------------------------------------------
// MmapCache closing arrays its caller still holds

row(
  'MmapCache eviction while the caller holds the array: members throw ERR_MMAP_CLOSED, views empty',
  [true, CLOSED, CLOSED, CLOSED, CLOSED, 0, 1],
  ['closed', 'evicted'],
)

row(
  'MmapCache eviction in the middle of a chunks() walk: the next step is ERR_MMAP_CLOSED',
  [0, CLOSED],
  ['closed', 'evictedMidChunks'],
)

row(
  'MmapCache delete() and clear() close arrays the caller still holds; a later lookup reopens',
  [CLOSED, CLOSED, true, false, 1],
  ['closed', 'deletedAndCleared'],
)

// ---------------------------------------------------------------------------------------------
// Writes to read-only maps

for (const expr of ['a.set(0, 9)', 'a.fill(9)', 'a.flush()']) {
  row(
    `mode 'r': ${expr} is ERR_MMAP_READONLY and the file is unchanged`,
    [READONLY, [1, 2, 3, 4]],
    ['readonly', 'write', expr],
  )
}

row("mode 'r': flushAsync() rejects with ERR_MMAP_READONLY", READONLY, ['readonly', 'flushAsync'])

row(
  "mode 'r': writes straight into .array, slice() results and views of the buffer never reach the file",
  [[1, 2, 3, 4], [1, 2, 3, 4], true],
  ['readonly', 'writesIntoViews'],
)

row(
  "mmapFile 'r': writes into bytes, new Float64Array(bytes.buffer) and a DataView never reach the file",
  [Array.from({ length: 16 }, (_, i) => i + 1), Array.from({ length: 16 }, (_, i) => i + 1), READONLY],
  ['readonly', 'writesIntoFileBytes'],
)

row(
  "loadBinary, openNpy and MmapCache default to 'r': set/fill are ERR_MMAP_READONLY, direct writes stay private",
  [READONLY, READONLY, READONLY, [1, 2, 3, 4], [1, 2, 3, 4]],
  ['readonly', 'readOnlyDefaults'],
)

row(
  "mode 'c': writes stay in the process through flush() and advise('dontneed'), the file is unchanged",
  [[42, 7, 7, 7], 'ok', 'ok', [1, 2, 3, 4]],
  ['readonly', 'copyOnWrite'],
)

// ---------------------------------------------------------------------------------------------
// Bad arguments: ERR_MMAP_INVALID_ARG, and nothing created on disk

const NO_FILES = { 'files left': [] }
row('MmapArray.create with a bad shape: ERR_MMAP_INVALID_ARG, no file', new Calls(INVALID, 12, NO_FILES), [
  'arguments',
  'createBadShape',
])
row('MmapArray.create with a bad dtype: ERR_MMAP_INVALID_ARG, no file', new Calls(INVALID, 6, NO_FILES), [
  'arguments',
  'createBadDtype',
])
row(
  'MmapArray.create with a bad fill, overwrite or options: ERR_MMAP_INVALID_ARG, no file',
  new Calls(INVALID, 4, NO_FILES),
  ['arguments', 'createBadFillOverwriteOptions'],
)

row(
  'MmapArray.open with a bad path (wrong type, NUL byte, URL that is not a local file): ERR_MMAP_INVALID_ARG',
  // On Windows a file: URL with a host is a UNC path (\\remotehost\tmp\a.f8): a network share, not invalid.
  new Calls(INVALID, posixCheck('file://remotehost/... is a UNC path on Windows') ? 8 : 7),
  ['arguments', 'openBadPath'],
)

row(
  'every path-taking function rejects an empty path with ERR_MMAP_INVALID_ARG',
  Array.from({ length: 9 }, () => INVALID),
  ['arguments', 'emptyPath'],
)

row('MmapArray.open with a bad mode, offset, shape, dtype or options: ERR_MMAP_INVALID_ARG', new Calls(INVALID, 13), [
  'arguments',
  'openBadOptions',
])

for (const call of ['MmapArray.create', 'MmapArray.open', 'saveNpy']) {
  // A hole is not a number: refused at once, not copied (a 64 MiB heap makes a copy abort fast).
  row(
    `${call} with a sparse shape of 2**32 - 1 holes: ${INVALID}, not out of memory`,
    INVALID,
    ['arguments', 'sparseShape', call],
    { nodeArgs: ['--max-old-space-size=64'] },
  )
}

row('an options getter that throws: the caller’s own error comes back, nothing crashes', 'Error: boom', [
  'arguments',
  'throwingGetter',
])

row(
  'null in an options object means "not given" (README)',
  [[[4], 'float64', 'r+'], 32, [[3], 0], [[4], 'float64', 'r'], [[4], 'r'], 'ok', [[2], 'float64']],
  ['arguments', 'nullOptions'],
)

const UNCHANGED = { 'the file after': [1, 2, 3, 4] }
for (const [member, count] of [
  ['get', 11],
  ['set', 8],
  ['slice', 5],
  ['chunks', 5],
  ['advise', 3],
  ['fill', 3],
] as const) {
  row(
    `MmapArray ${member}() with bad arguments: ERR_MMAP_INVALID_ARG, the file unchanged`,
    new Calls(INVALID, count, UNCHANGED),
    ['arguments', 'memberBadArguments', member],
  )
}

row(
  '64-bit integer arrays: set() of a fraction, of 2**53, of a string is ERR_MMAP_INVALID_ARG',
  [INVALID, INVALID, INVALID, INVALID, '0n'],
  ['arguments', 'int64Set'],
)

row(
  'mmapFile bad options and advice: ERR_MMAP_INVALID_ARG',
  [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID],
  ['arguments', 'mmapFileBadOptions'],
)

row(
  'new MmapCache with a bad maxSize (0, -1, 1.5, NaN, Infinity, a string, a bigint): ERR_MMAP_INVALID_ARG',
  new Calls(INVALID, 7),
  ['arguments', 'cacheBadMaxSize'],
)

row(
  'MmapCache bad options and lookups: ERR_MMAP_INVALID_ARG',
  [INVALID, INVALID, INVALID, INVALID, INVALID, 0],
  ['arguments', 'cacheBadOptions'],
)

row('createSharedBuffer with a bad length or dtype: ERR_MMAP_INVALID_ARG', new Calls(INVALID, 11), [
  'arguments',
  'sharedBufferBad',
])

row(
  'SharedMemoryArray.create bad options: ERR_MMAP_INVALID_ARG, nothing left in the shared memory directory',
  [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, []],
  ['arguments', 'sharedMemoryCreateBad'],
)

for (const fn of ['saveBinary', 'saveNpy']) {
  row(
    `${fn} with data that is not a typed array or an MmapArray: ERR_MMAP_INVALID_ARG, no file`,
    new Calls(INVALID, 6, NO_FILES),
    ['arguments', 'saveNotTypedArray', fn],
  )
}
row(
  'saveBinary/saveNpy with a detached typed array (a view of a closed array): ERR_MMAP_INVALID_ARG, no file',
  new Calls(INVALID, 2, NO_FILES),
  ['arguments', 'saveDetached'],
)

row(
  'saveNpy/saveBinary bad options: ERR_MMAP_INVALID_ARG, no file',
  [INVALID, INVALID, INVALID, INVALID, []],
  ['arguments', 'saveBadOptions'],
)

row(
  'saving or copying a closed array is ERR_MMAP_CLOSED, no file',
  [CLOSED, CLOSED, CLOSED, ['a.f8']],
  ['arguments', 'saveClosed'],
)

row(
  'MmapArray.fromArray bad data: ERR_MMAP_INVALID_ARG, no file',
  [INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, []],
  ['arguments', 'fromArrayBadData'],
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
  ['arguments', 'fromArrayOverSource'],
)

// ---------------------------------------------------------------------------------------------
// openNpy on garbage: ERR_MMAP_FORMAT

row(
  'openNpy baseline: a well-formed hand-made header opens (the helper the garbage rows use)',
  ['float64', [2], 2.5],
  ['npy', 'baseline'],
)

const garbage: [string, string][] = [
  ['random bytes', FORMAT],
  ['an empty file', FORMAT],
  ['the magic alone', FORMAT],
  ['a text file', FORMAT],
  ['version 4.0', FORMAT],
  ['a header length past the file', FORMAT],
  ['a header that is not a dict', FORMAT],
  ['a cut-off dict', FORMAT],
  ['a big-endian descr', FORMAT],
  ['an object descr', FORMAT],
  ['a structured descr', FORMAT],
  ['Fortran order', FORMAT],
  ['a negative dimension', FORMAT],
  ['a fractional dimension', FORMAT],
  ['shape (2**40, 2**40)', FORMAT],
  ['shape (2**50,) of float64 (2**53 bytes)', FORMAT],
  ['5000 nested parentheses', FORMAT],
  ['a data section shorter than the header declares', MISMATCH],
]
for (const [what, expected] of garbage) {
  row(`openNpy on ${what}: ${expected}`, [expected, expected], ['npy', 'garbage', what])
}

row("openNpy with mode 'w' or options a string: ERR_MMAP_INVALID_ARG", [INVALID, INVALID], ['npy', 'badModeOrOptions'])

// ---------------------------------------------------------------------------------------------
// Sizes, offsets and empty files

row(
  'an offset that is not a multiple of the itemsize is ERR_MMAP_ALIGNMENT',
  ['ERR_MMAP_ALIGNMENT', 'ERR_MMAP_ALIGNMENT'],
  ['sizes', 'misalignedOffset'],
)

row(
  'offsets and shapes far past the end of the file are ERR_MMAP_SIZE_MISMATCH, never a bus error',
  [MISMATCH, MISMATCH, MISMATCH, MISMATCH],
  ['sizes', 'pastTheEnd'],
)

row(
  'a zero-length file: the inferred shape is [0]; sum 0, mean/std NaN, min/max ERR_MMAP_INVALID_ARG',
  [[0], 0, 0, 0, 'NaN', 'NaN', INVALID, INVALID, INVALID, 0, 0, 0],
  ['sizes', 'emptyFile'],
)

row(
  'a zero-length file: 64-bit sum is 0n; modes r, r+, c all open; flush works',
  ['0n', INVALID, [0, 0, 0], 'ok', 0],
  ['sizes', 'emptyFileInt64'],
)

row(
  'a zero-length file with a shape or offset that needs data: ERR_MMAP_SIZE_MISMATCH',
  [MISMATCH, MISMATCH, MISMATCH, 'ok'],
  ['sizes', 'emptyFileNeedingData'],
)

row(
  'an offset exactly at the end of a non-empty file: an empty map; one past it is ERR_MMAP_SIZE_MISMATCH',
  [[0], 0, 0, [0], MISMATCH, MISMATCH],
  ['sizes', 'offsetAtTheEnd'],
)

row(
  'a 0-d array (shape []): get() and set() work, slice() and chunks() are ERR_MMAP_INVALID_ARG',
  [1, 2.5, 1, INVALID, INVALID, INVALID, 2.5],
  ['sizes', 'zeroDimensional'],
)

// ---------------------------------------------------------------------------------------------
// Things that are not regular files

row(
  'a directory is EISDIR through every opener; create over it is EEXIST',
  ['EISDIR', 'EISDIR', 'EISDIR', 'EISDIR', 'EISDIR', 'EISDIR', 'EISDIR', 'EEXIST'],
  ['files', 'directory'],
)

for (const what of [
  "MmapArray.open (mode 'r+')",
  "MmapArray.open (mode 'r', a shape)",
  'loadBinary',
  'openNpy',
  "mmapFile (mode 'c')",
  'SharedMemoryArray.open',
  'MmapCache.getOrCreate',
]) {
  posixRow(
    NOT_ON_WINDOWS.fifo,
    `a FIFO through ${what}: ERR_MMAP_INVALID_ARG at once, no hang`,
    [INVALID, true],
    ['files', 'fifoThrough', what],
    { watchdog: true },
  )
}

posixRow(
  'no /dev/zero or /dev/null device files on Windows',
  '/dev/zero and /dev/null: ERR_MMAP_INVALID_ARG through every opener',
  Array.from({ length: 7 }, () => INVALID),
  ['files', 'devices'],
  { watchdog: true },
)

posixRow(
  'no /dev/zero on Windows, and symlinks need a privilege there',
  'a symlink to /dev/zero: ERR_MMAP_INVALID_ARG',
  [INVALID, INVALID],
  ['files', 'symlinkToDevice'],
  { watchdog: true },
)

posixRow(
  'listen(path) makes a named pipe on Windows, not a socket file',
  'a unix socket: ERR_MMAP_INVALID_ARG (README: a device, FIFO or socket)',
  [INVALID, INVALID, INVALID],
  ['files', 'socket'],
  { watchdog: true },
)

posixRow(
  NOT_ON_WINDOWS.proc,
  'a /proc file (a regular file that reports size 0): an empty array; a shape is ERR_MMAP_SIZE_MISMATCH',
  [0, MISMATCH],
  ['files', 'procFile'],
)

posixRow(
  'symlinks (dangling, looping) need a privilege on Windows; ELOOP, ENOTDIR and ENAMETOOLONG are POSIX errnos',
  'path errors keep the OS codes: ENOENT, ELOOP, ENOTDIR, ENAMETOOLONG',
  ['ENOENT', 'ENOENT', 'ELOOP', 'ENOTDIR', 'ENAMETOOLONG', 'ENOENT'],
  ['files', 'pathErrors'],
)

// ---------------------------------------------------------------------------------------------
// Permissions (the child drops to nobody when run as root)

posixRow(
  'no Unix permission bits on Windows: chmod cannot take read access away (it sets the read-only attribute)',
  'a file without read permission: EACCES through every opener',
  ['EACCES', 'EACCES', 'EACCES', 'EACCES', 'EACCES'],
  ['files', 'unreadable'],
)

row(
  "mode 'r+' (and SharedMemoryArray.open) on a read-only file: EACCES; mode 'r' opens and private writes are harmless",
  ['EACCES', 'EACCES', 'EACCES', 'ok', [1, 2]],
  ['files', 'readOnlyFile'],
  {
    wine: 'Wine keeps the read-only attribute as Unix mode 0444, which root ignores: the open succeeds (Windows denies it)',
  },
)

posixRow(
  "no Unix permission bits on Windows: a directory's read-only attribute does not stop creating files in it",
  'creating in a directory without write permission: EACCES, nothing left behind',
  ['EACCES', 'EACCES', 'EACCES', []],
  ['files', 'lockedDirectory'],
)

// ---------------------------------------------------------------------------------------------
// Another process changes the file before open

row(
  'a file truncated by another process before open: an explicit shape is ERR_MMAP_SIZE_MISMATCH',
  [MISMATCH, MISMATCH, MISMATCH, [5], [1, 2, 3, 4, 5]],
  ['resized', 'truncated'],
)

row(
  'a file truncated to a ragged or zero size before open: ERR_MMAP_SIZE_MISMATCH',
  [MISMATCH, MISMATCH, [0]],
  ['resized', 'truncatedRaggedOrEmpty'],
)

row(
  'a file grown by another process before open: it opens, the shape given still sees the old data',
  [
    [1, 2, 3, 4],
    [516, 0],
  ],
  ['resized', 'grown'],
)

row(
  'a .npy truncated by another process before open: ERR_MMAP_SIZE_MISMATCH in the data, ERR_MMAP_FORMAT in the header',
  [MISMATCH, FORMAT, FORMAT],
  ['resized', 'truncatedNpy'],
)

row(
  'MmapCache: an entry reopened after the file was truncated is ERR_MMAP_SIZE_MISMATCH',
  [MISMATCH, MISMATCH],
  ['resized', 'cacheReopensTruncated'],
)

// ---------------------------------------------------------------------------------------------

describe('hostile use', () => {
  it('has at least 45 scenarios, each with a unique name', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(45)
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length)
  })

  for (const { name, group, scenario, args, expected, watchdog, nodeArgs, posix, wine } of scenarios) {
    const title = posix ? posixTest(name, posix) : wine ? wineTest(name, wine) : name
    it.skipIf((WINDOWS && posix !== undefined) || (WINE && wine !== undefined))(title, () => {
      const r = runFixture(`hostile/${group}`, scenario, args, {
        nodeArgs,
        env: { MEMMAP_SCRATCH: dir },
        watchdog: watchdog ? WATCHDOG_MS : undefined,
      })
      expectCleanExit(r)
      const outcome = outcomeOf(r)
      if (!(expected instanceof Calls)) {
        expect(outcome, r.stderr).toEqual(expected)
        return
      }
      const made = Object.keys(outcome).filter((key) => !Object.hasOwn(expected.extra, key))
      expect(outcome, r.stderr).toEqual({
        ...Object.fromEntries(made.map((call) => [call, expected.each])),
        ...expected.extra,
      })
      expect(made, 'the calls made').toHaveLength(expected.count)
    })
  }
})
