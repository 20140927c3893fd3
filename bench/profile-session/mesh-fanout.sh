#!/usr/bin/env bash
# Run mesh-fanout.js inside a fresh namespace psmesh (loopback only; 10.78.0.0/16 local on lo).
# Usage (root): bench/profile-session/mesh-fanout.sh <dist dir of the agent under test> [mesh-fanout flags]
# The harness itself runs from the dist given by PS_HARNESS (default: the same dist).
set -euo pipefail
DIST=$(realpath "${1:?dist}"); shift
HARNESS=${PS_HARNESS:-$DIST}
NS=psmesh
ip netns del $NS 2>/dev/null || true
ip netns add $NS
trap 'ip netns del $NS 2>/dev/null || true' EXIT
ip -n $NS link set lo up
ip -n $NS route add local 10.78.0.0/16 dev lo
ip netns exec $NS prlimit --nofile=8192:8192 node "$HARNESS/bench/profile-session/mesh-fanout.js" "$DIST" "$@"
