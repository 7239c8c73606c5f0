#!/usr/bin/env bash
# The Windows tests on this Linux machine (issue #10): the binding cross-built for
# x86_64-pc-windows-gnu, the Rust core tests and the vitest suite run under Wine with the official
# node.exe. Run from the repo root (or from .ci/run); /work/shared/platforms/README.md says how the
# pieces are provisioned. Prints the logs, then one line: `windows: N passed, N failed, N skipped`.
# Exits non-zero when a Rust or JS test fails.
#
#   bash scripts/test-windows.sh            # everything
#   bash scripts/test-windows.sh --js-only  # skip the Rust core tests (the binding is still built)
#   extra arguments go to vitest: bash scripts/test-windows.sh __test__/array.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."

XPLAT=${XPLAT:-$(cd .. && pwd)/shared/platforms/xplat}
NODE_VERSION=${MEMMAP_WINDOWS_NODE:-20.20.2}
TARGET=x86_64-pc-windows-gnu
RUST=1
if [[ ${1:-} == --js-only ]]; then
  RUST=0
  shift
fi

eval "$("$XPLAT" std)"
eval "$("$XPLAT" mingw)"
eval "$("$XPLAT" wine)"
NODE_EXE=$("$XPLAT" node "$NODE_VERSION" win-x64)
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/memmap-windows-XXXXXX")
trap 'rm -rf "$LOGS"' EXIT
status=0

section() { printf '\n=== %s\n' "$*"; }
# node.exe under Wine dies with EBADF when a standard stream is a pipe: files only, then print them.
# NO_COLOR: a log, not a terminal (vitest colours by default on win32). MEMMAP_WINE=1 tells the
# tests they run under Wine, which skips the few things Wine does not do as Windows, saying why.
node_exe() {
  local name=$1
  shift
  local rc=0
  NO_COLOR=1 MEMMAP_WINE=1 wine "$NODE_EXE" "$@" </dev/null >"$LOGS/$name.out" 2>"$LOGS/$name.err" || rc=$?
  cat "$LOGS/$name.out"
  cat "$LOGS/$name.err" >&2
  return "$rc"
}

section "build: the binding for $TARGET"
cargo build --release -Zbuild-std=std,panic_abort --target "$TARGET" -p memmap-node
cp "target/$TARGET/release/memmap_node.dll" js/memmap.win32-x64-msvc.node
# dist/ is what the tests load: compile js/ and copy every js/*.node beside the loader.
node scripts/build-ts.mjs

if [[ $RUST == 1 ]]; then
  section "cargo test -p memmap-core under Wine"
  start=$SECONDS
  if CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine \
    cargo test -Zbuild-std=std,panic_abort --target "$TARGET" -p memmap-core; then
    echo "rust (windows): ok in $((SECONDS - start)) s"
  else
    echo "rust (windows): FAILED in $((SECONDS - start)) s"
    status=1
  fi
fi

section "win32 packages of the dev tools vitest loads (versions from package-lock.json)"
XPLAT=$XPLAT node scripts/dev-platform-packages.mjs win32 x64

section "vitest under Wine (node.exe $NODE_VERSION)"
start=$SECONDS
rc=0
node_exe vitest scripts/test-js.mjs "$@" || rc=$?
elapsed=$((SECONDS - start))
echo "vitest under Wine: exit $rc after ${elapsed} s"
summary=$(grep -E '^vitest: ' "$LOGS/vitest.out" | tail -n 1 || true)
[[ $rc == 0 ]] || status=1
echo "${summary/vitest:/windows:}${summary:+ in ${elapsed} s}"
[[ -n $summary ]] || echo "windows: no vitest report (exit $rc)"
exit "$status"
