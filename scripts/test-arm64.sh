#!/usr/bin/env bash
# The JS suite on arm64 Linux, here under qemu-user (issue #10): the binding cross-built for
# aarch64-unknown-linux-gnu, loaded by the official arm64 node, vitest and every child process it
# forks run through qemu (binfmt_misc). MEMMAP_QEMU=1 tells the tests, which skip the few checks
# that measure the emulator rather than the package (helpers.ts, QEMU), saying so. Slow: about
# 7 minutes on 2 cores. Run it with `npm run test:arm64`; .ci/run runs only the arm64 Rust tests (scripts/test-targets.sh arm64).
# Prints the vitest log and one line: `arm64: N passed, N failed, N skipped in T s`.
set -euo pipefail
cd "$(dirname "$0")/.."

XPLAT=${XPLAT:-$(cd .. && pwd)/shared/platforms/xplat}
NODE_VERSION=${MEMMAP_ARM64_NODE:-20.20.2}
TARGET=aarch64-unknown-linux-gnu
eval "$("$XPLAT" std)"
eval "$("$XPLAT" arm64)"
ARM_NODE=$("$XPLAT" node "$NODE_VERSION" linux-arm64)

printf '\n=== build: the binding for %s\n' "$TARGET"
cargo build --release -Zbuild-std=std,panic_abort --target "$TARGET" -p memmap-node
cp "target/$TARGET/release/libmemmap_node.so" js/memmap.linux-arm64-gnu.node
node scripts/build-ts.mjs

printf '\n=== linux-arm64 packages of the dev tools vitest loads\n'
XPLAT=$XPLAT node scripts/dev-platform-packages.mjs linux arm64 glibc

printf '\n=== vitest under qemu (%s)\n' "$("$ARM_NODE" --version)"
start=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
MEMMAP_QEMU=1 "$ARM_NODE" scripts/test-js.mjs "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
summary=$(grep -E '^vitest: ' "$log" | tail -n 1 || true)
echo "${summary/vitest:/arm64:} in $((SECONDS - start)) s"
exit "$rc"
