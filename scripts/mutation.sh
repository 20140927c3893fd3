#!/usr/bin/env bash
# npm run mutation [-- dir...]: Stryker over each directory in turn (default:
# src/bgp/codec src/bgp/fsm src/bgp/rib src/kernel), concurrency 1, one
# JSON report per directory in reports/mutation/<dir>.json. Not part of CI:
# it takes tens of minutes per directory on a shared 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(src/bgp/fsm src/bgp/codec src/kernel src/bgp/rib)
mkdir -p reports/mutation
for d in "${dirs[@]}"; do
  name=$(echo "$d" | tr '/' '_')
  echo "mutation: $d" >&2
  MUTATE_DIR="$d" npx stryker run 2>&1 | tee "reports/mutation/$name.log"
done
