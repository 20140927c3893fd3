#!/usr/bin/env bash
# One-step set-up for a fresh Debian machine with Node 20, run as root:
# Debian packages the lab and the integration tests use, npm ci, build.
# Idempotent and quick when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(etcd-server etcd-client bird2 iproute2 openssl procps)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian starts the packaged daemons; the lab and tests run their own.
  for svc in etcd bird; do systemctl stop "$svc" 2>/dev/null || service "$svc" stop 2>/dev/null || true; done
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-fund --no-audit >/dev/null
fi

echo "setup: build" >&2
npx tsc -p tsconfig.json
chmod +x dist/src/cli/main.js 2>/dev/null || true
