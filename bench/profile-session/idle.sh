#!/usr/bin/env bash
# Idle RSS of `agent run` configured through etcd, before any peer.
# Usage (root): bench/profile-session/idle.sh <dist dir> [runs] [extra node flags...]
# Namespace psidle (loopback only), etcd on 127.0.0.1:23901 in /dev/shm.
# Prints VmRSS / VmHWM (kB) of the agent 6 s after start, per run.
set -euo pipefail
DIST=${1:?dist dir}; RUNS=${2:-3}; shift 2 || true
NS=psidle; PORT=23901; DIR=$(mktemp -d /dev/shm/psidle.XXXX)
cleanup() { [[ -n "${AG:-}" ]] && kill $AG 2>/dev/null; [[ -n "${ET:-}" ]] && kill $ET 2>/dev/null; sleep 0.3; ip netns del $NS 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
ip netns add $NS 2>/dev/null || true
ip -n $NS link set lo up
ip netns exec $NS etcd --data-dir "$DIR/etcd" --listen-client-urls http://127.0.0.1:$PORT --advertise-client-urls http://127.0.0.1:$PORT \
  --listen-peer-urls http://127.0.0.1:$((PORT+1)) --initial-advertise-peer-urls http://127.0.0.1:$((PORT+1)) \
  --initial-cluster default=http://127.0.0.1:$((PORT+1)) >"$DIR/etcd.log" 2>&1 &
ET=$!
for i in $(seq 50); do ETCDCTL_API=3 ip netns exec $NS etcdctl --endpoints 127.0.0.1:$PORT endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
for r in $(seq $RUNS); do
  start=$(date +%s%N)
  ip netns exec $NS env NODENAME=ps-idle IP=127.0.0.1 AS=64512 ETCD_ENDPOINTS=http://127.0.0.1:$PORT \
    node "$@" "$DIST/src/cli/main.js" run --no-program-routes --control-socket "$DIR/ctl" --listen-port 1179 >"$DIR/agent.log" 2>&1 &
  AG=$!
  # time until the control socket answers (startup latency)
  for i in $(seq 200); do [[ -S "$DIR/ctl" ]] && break; sleep 0.02; done
  ready=$(( ($(date +%s%N) - start) / 1000000 ))
  sleep ${PS_IDLE_WAIT:-6}
  rss=$(awk '/VmRSS/{print $2}' /proc/$AG/status); hwm=$(awk '/VmHWM/{print $2}' /proc/$AG/status); anon=$(awk '/RssAnon/{print $2}' /proc/$AG/status); file=$(awk '/RssFile/{print $2}' /proc/$AG/status)
  echo "run $r: ctl socket after ${ready} ms, VmRSS ${rss} kB, VmHWM ${hwm} kB (anon ${anon}, file ${file})"
  grep "^MU" "$DIR/agent.log" || true
  kill $AG; wait $AG 2>/dev/null || true; AG=
  rm -f "$DIR/ctl"
done
