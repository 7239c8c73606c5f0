#!/usr/bin/env bash
# The targets this machine cannot run natively, checked as far as each can be here (issue #10):
#
#   clippy  clippy -D warnings for the six cross targets shipped (linux-x64-gnu is `npm run lint:rust`)
#           and x86_64-pc-windows-gnu, the build the Windows tests run under Wine
#   musl    the Rust core tests for x86_64-unknown-linux-musl, run natively (musl-gcc)
#   arm64   the Rust core tests for aarch64-unknown-linux-gnu, run under qemu-user
#   darwin  both darwin .node files link (cargo-zigbuild); nothing here can run them
#
#   bash scripts/test-targets.sh [clippy] [musl] [arm64] [darwin]   # default: all four
#
# Other targets' std comes from -Zbuild-std; ../shared/platforms/xplat provisions the pieces.
set -euo pipefail
cd "$(dirname "$0")/.."

XPLAT=${XPLAT:-$(cd .. && pwd)/shared/platforms/xplat}
STEPS=("$@")
[[ ${#STEPS[@]} -gt 0 ]] || STEPS=(clippy musl arm64 darwin)
BUILD_STD=(-Zbuild-std=std,panic_abort)
eval "$("$XPLAT" std)"
eval "$("$XPLAT" mingw)"
# musl: napi-rs builds the .node against a dynamic musl libc (-crt-static), or cargo drops the cdylib.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS='-C target-feature=-crt-static'
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS='-C target-feature=-crt-static'
status=0

step() {
  local name=$1 start=$SECONDS
  shift
  printf '\n=== %s\n' "$name"
  if "$@"; then
    echo "$name: ok in $((SECONDS - start)) s"
  else
    echo "$name: FAILED in $((SECONDS - start)) s"
    status=1
  fi
}

clippy() {
  cargo clippy "${BUILD_STD[@]}" --workspace --all-targets \
    --target aarch64-unknown-linux-gnu \
    --target x86_64-unknown-linux-musl --target aarch64-unknown-linux-musl \
    --target x86_64-apple-darwin --target aarch64-apple-darwin \
    --target x86_64-pc-windows-msvc --target x86_64-pc-windows-gnu \
    -- -D warnings
}

musl() {
  command -v musl-gcc >/dev/null || apt_install musl-tools
  # The test binaries link statically against musl, with LLVM's libunwind as the unwinder (Rust's
  # self-contained one comes only with a rustup-installed target). That libunwind.a was built for
  # glibc and calls its fortified __fprintf_chk once: a shim supplies it.
  [[ -f /usr/lib/llvm-14/lib/libunwind.a ]] || apt_install libunwind-14-dev
  local shim=target/musl-shim
  mkdir -p "$shim"
  printf '%s\n' '#include <stdarg.h>' '#include <stdio.h>' \
    'int __fprintf_chk(FILE *f, int flag, const char *fmt, ...) {' \
    '  (void)flag; va_list ap; va_start(ap, fmt); int r = vfprintf(f, fmt, ap); va_end(ap); return r;' \
    '}' >"$shim/chk.c"
  musl-gcc -O2 -fPIC -c "$shim/chk.c" -o "$shim/chk.o"
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=musl-gcc \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C link-self-contained=no -L /usr/lib/llvm-14/lib -C link-arg=$PWD/$shim/chk.o" \
    cargo test "${BUILD_STD[@]}" --target x86_64-unknown-linux-musl -p memmap-core
}

arm64() {
  eval "$("$XPLAT" arm64)"
  cargo test "${BUILD_STD[@]}" --target aarch64-unknown-linux-gnu -p memmap-core
}

darwin() {
  local bin
  bin=$("$XPLAT" zig 2>/dev/null | head -n1)
  PATH="$bin:$PATH" cargo-zigbuild zigbuild --release "${BUILD_STD[@]}" -p memmap-node \
    --target x86_64-apple-darwin --target aarch64-apple-darwin
  command -v llvm-nm >/dev/null || apt_install llvm
  local t lib
  for t in x86_64-apple-darwin aarch64-apple-darwin; do
    lib=target/$t/release/libmemmap_node.dylib
    # A loadable addon exports the Node-API entry point.
    llvm-nm --extern-only --defined-only "$lib" | grep -q '_napi_register_module_v1$' ||
      { echo "$lib does not export napi_register_module_v1"; return 1; }
    echo "$t: links, exports napi_register_module_v1"
  done
}

apt_install() {
  [[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1) ]] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

for s in "${STEPS[@]}"; do
  case $s in
    clippy) step "clippy -D warnings, the six cross targets shipped and windows-gnu (the Wine build)" clippy ;;
    musl) step "cargo test -p memmap-core, x86_64-unknown-linux-musl (native)" musl ;;
    arm64) step "cargo test -p memmap-core, aarch64-unknown-linux-gnu (qemu)" arm64 ;;
    darwin) step "link the darwin .node files (cargo-zigbuild)" darwin ;;
    *)
      echo "unknown step $s (clippy, musl, arm64, darwin)"
      exit 2
      ;;
  esac
done
exit "$status"
