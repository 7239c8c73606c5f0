#!/usr/bin/env bash
# The JS suite on Node 22, 24 and 26 (Linux x64), with the official binaries from the npm registry
# (`xplat node N`); Node 20 is the machine's own and runs in `npm test`. The addon is Node-API:
# the same .node file loads on every version. Run after `npm run build`.
#
#   bash scripts/test-node-versions.sh [22 24 26]
# Prints one line per version: `node vX.Y.Z: N passed, N failed, N skipped in T s`.
set -euo pipefail
cd "$(dirname "$0")/.."

XPLAT=${XPLAT:-$(cd .. && pwd)/shared/platforms/xplat}
VERSIONS=("$@")
[[ ${#VERSIONS[@]} -gt 0 ]] || VERSIONS=(22 24 26)
status=0
summaries=()
for v in "${VERSIONS[@]}"; do
  node=$("$XPLAT" node "$v")
  printf '\n=== vitest on Node %s\n' "$("$node" --version)"
  log=$(mktemp)
  start=$SECONDS
  rc=0
  "$node" scripts/test-js.mjs 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
  summary=$(grep -E '^vitest: ' "$log" | tail -n 1 || echo 'vitest: no report')
  rm -f "$log"
  summaries+=("node $("$node" --version): ${summary#vitest: } in $((SECONDS - start)) s")
  [[ $rc == 0 ]] || status=1
done
printf '%s\n' "${summaries[@]}"
exit "$status"
