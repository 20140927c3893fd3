#!/usr/bin/env bash
# What the etcd client costs a process at rest: list /calico/ and hold a watch on it, then VmRSS after 3 s.
#   grpc.mjs: the etcd3 package (grpc-js + protobufjs), as src/datastore uses it
#   gw.mjs:   etcd's JSON gateway over HTTP/1.1 (/v3/kv/range, streaming /v3/watch), node:http only
# Usage (root): bench/profile-session/etcd-client/run.sh [runs]
set -euo pipefail
HERE=$(dirname "$(realpath "$0")"); NS=psetcd; PORT=23921; D=$(mktemp -d /dev/shm/pse.XXXX)
cleanup() { kill ${EP:-} 2>/dev/null || true; sleep 0.3; ip netns del $NS 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
ip netns add $NS; ip -n $NS link set lo up
ip netns exec $NS etcd --data-dir "$D" --listen-client-urls http://127.0.0.1:$PORT --advertise-client-urls http://127.0.0.1:$PORT \
  --listen-peer-urls http://127.0.0.1:$((PORT+1)) --initial-advertise-peer-urls http://127.0.0.1:$((PORT+1)) \
  --initial-cluster default=http://127.0.0.1:$((PORT+1)) >/dev/null 2>&1 &
EP=$!
sleep 2
for i in $(seq 50); do ETCDCTL_API=3 ip netns exec $NS etcdctl --endpoints 127.0.0.1:$PORT put /calico/x$i "{\"a\":$i}" >/dev/null; done
for r in $(seq ${1:-2}); do
  ip netns exec $NS node "$HERE/grpc.mjs" http://127.0.0.1:$PORT
  ip netns exec $NS node "$HERE/gw.mjs" http://127.0.0.1:$PORT
done
