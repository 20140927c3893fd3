#!/usr/bin/env bash
# npm run mutation [-- dir...]: Stryker over each directory in turn (default:
# src/bgp/fsm src/bgp/codec src/kernel src/bgp/rib), concurrency 1, one JSON
# report per directory in reports/mutation/<dir>.json. Each directory is
# judged by its own unit tests (test/unit/<name>/), which is what a change
# to it runs first. Not part of CI: tens of minutes per directory on a
# shared 2-core machine. MUTATE_FILES=a.ts,b.ts narrows a run to some files.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(src/bgp/fsm src/bgp/codec src/kernel src/bgp/rib)
mkdir -p reports/mutation
for d in "${dirs[@]}"; do
  name=$(echo "$d" | tr '/' '_')
  tests="test/unit/$(basename "$d")/**/*.test.ts"
  echo "mutation: $d (tests $tests)" >&2
  MUTATE_DIR="$d" MUTATION_TESTS="$tests" npx stryker run 2>&1 | tee "reports/mutation/$name.log"
done
