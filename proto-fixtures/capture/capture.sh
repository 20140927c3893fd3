#!/usr/bin/env bash
# Capture real BGP messages between BIRD 2, GoBGP and FRR bgpd running in network
# namespaces, then cut them into proto-fixtures/<type>/<name>.bin.
#
#   sudo proto-fixtures/capture/capture.sh            # capture + extract + select
#   proto-fixtures/capture/capture.sh --select-only   # re-cut fixtures from lab.pcapng
#
# Topology: namespace fxhub holds bridge fxbr0; each speaker namespace has an eth0
# veth on it. dumpcap captures on the (promiscuous) bridge, so every session is in
# one pcap. All addresses are namespace-only (10.99.0.0/24, fd99::/64).
#   fxbird  10.99.0.1  fd99::1   BIRD A   (AS 65001; 10.99.0.1n faces BIRD B role n)
#   fxgobgp 10.99.0.2  fd99::2   GoBGP    (AS 65002)
#   fxfrr   10.99.0.3  fd99::3   FRR bgpd + zebra (AS 4200000003)
#   fxbirdb 10.99.0.11-18        BIRD B   (one address per role, see conf/bird-b.conf)
# Needs root, bird2, gobgpd, frr, tshark (dumpcap), node >= 20.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$(dirname "$HERE")
PCAP="$HERE/lab.pcapng"

if [[ "${1:-}" == "--select-only" ]]; then
  node "$HERE/split.mjs" "$PCAP" > "$HERE/messages.jsonl"
  node "$HERE/select.mjs" "$HERE/messages.jsonl" "$FIX"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { echo "capture.sh: must run as root (network namespaces)" >&2; exit 1; }

W=$(mktemp -d /tmp/fxcap.XXXXXX)
NAMESPACES=(fxhub fxbird fxbirdb fxgobgp fxfrr)
DUMPCAP_PID=""
GOBGPD_PID=""

log() { printf '[capture %s] %s\n' "$(date +%T)" "$*" >&2; }

kill_pidfile() { # stop a daemon started by this script, by the pid it wrote
  local f=$1
  if [[ -s $f ]]; then
    local p; p=$(cat "$f")
    kill -CONT "$p" 2>/dev/null || true
    kill "$p" 2>/dev/null || true
  fi
}

cleanup() {
  set +e
  log "cleaning up"
  [[ -n $DUMPCAP_PID ]] && kill "$DUMPCAP_PID" 2>/dev/null
  [[ -n $GOBGPD_PID ]] && kill "$GOBGPD_PID" 2>/dev/null
  for f in "$W"/bird-a.pid "$W"/bird-b.pid "$W"/frr/bgpd.pid "$W"/frr/zebra.pid; do kill_pidfile "$f"; done
  sleep 1
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

# A crashed earlier run may have left namespaces behind.
for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done

log "workdir $W"
for ns in "${NAMESPACES[@]}"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # No duplicate address detection: addresses (and link-local next hops) usable at once.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n fxhub link add fxbr0 type bridge
ip -n fxhub link set fxbr0 up

attach() { # attach <ns> <hub-port> <addr...>
  local ns=$1 port=$2; shift 2
  ip -n fxhub link add "$port" type veth peer name eth0 netns "$ns"
  ip -n fxhub link set "$port" master fxbr0 up
  for a in "$@"; do ip -n "$ns" addr add "$a" dev eth0; done
  ip -n "$ns" link set eth0 up
}
attach fxbird fxpa 10.99.0.1/24 fd99::1/64 10.99.0.111/24 10.99.0.112/24 10.99.0.113/24 \
  10.99.0.114/24 10.99.0.116/24 10.99.0.117/24 10.99.0.118/24
attach fxgobgp fxpg 10.99.0.2/24 fd99::2/64
attach fxfrr fxpf 10.99.0.3/24 fd99::3/64
attach fxbirdb fxpb 10.99.0.11/24 10.99.0.12/24 10.99.0.13/24 10.99.0.14/24 \
  10.99.0.16/24 10.99.0.17/24 10.99.0.18/24 fd99::11/64

log "starting capture"
ip netns exec fxhub dumpcap -q -i fxbr0 -f 'tcp port 179' -w "$W/lab.pcapng" 2>"$W/dumpcap.err" &
DUMPCAP_PID=$!
for _ in $(seq 50); do [[ -s $W/lab.pcapng ]] && break; sleep 0.1; done
sleep 1

# BIRD A statics: 1000 x /26 (fills a 4096-byte UPDATE), prefixes tagged by the export
# filter, and prefixes withdrawn later.
{
  echo 'protocol static s_fill { ipv4;'
  for i in $(seq 0 999); do
    n=$((i * 64)); echo "  route 10.64.$((n / 256)).$((n % 256))/26 blackhole;"
  done
  echo '}'
  echo 'protocol static s_tag { ipv4;'
  for p in 10.62.1.0/24 10.62.2.0/24 10.62.3.0/24 10.80.1.0/24; do echo "  route $p blackhole;"; done
  echo '}'
  echo 'protocol static s_wd { ipv4;'
  for i in $(seq 0 15); do echo "  route 10.65.$((i / 4)).$(((i % 4) * 64))/26 blackhole;"; done
  echo '}'
  echo 'protocol static s6 { ipv6;'
  echo '  route fd62:1::/48 blackhole;'
  for i in $(seq 0 7); do printf '  route fd64::%x/122 blackhole;\n' $((i * 64)); done
  echo '}'
  echo 'protocol static s6wd { ipv6;'
  for i in $(seq 1 4); do echo "  route fd65:$i::/64 blackhole;"; done
  echo '}'
} > "$W/statics-a.conf"

cp "$HERE"/conf/* "$W"/
cd "$W"

log "starting BIRD A, BIRD B, GoBGP, FRR"
ip netns exec fxbird bird -c "$W/bird-a.conf" -s "$W/bird-a.ctl" -P "$W/bird-a.pid"
ip netns exec fxbirdb bird -c "$W/bird-b.conf" -s "$W/bird-b.ctl" -P "$W/bird-b.pid"
ip netns exec fxgobgp gobgpd -f "$W/gobgp.toml" -l info >"$W/gobgpd.log" 2>&1 &
GOBGPD_PID=$!
# FRR runs as user frr (its vty group check refuses root); zebra gives bgpd the
# interfaces, which it needs to send an IPv6 link-local next hop.
chmod 755 "$W"; mkdir -p "$W/frr"; cp "$W/zebra.conf" "$W/bgpd.conf" "$W/frr/"; chown -R frr:frr "$W/frr"
(cd "$W/frr" && ip netns exec fxfrr /usr/lib/frr/zebra -d -u frr -g frr -f "$W/frr/zebra.conf" \
  -i "$W/frr/zebra.pid" -z "$W/frr/zserv.api" --vty_socket "$W/frr" -P 0)
for _ in $(seq 50); do [[ -S $W/frr/zserv.api ]] && break; sleep 0.1; done
(cd "$W/frr" && ip netns exec fxfrr /usr/lib/frr/bgpd -d -u frr -g frr -f "$W/frr/bgpd.conf" \
  -i "$W/frr/bgpd.pid" -z "$W/frr/zserv.api" --vty_socket "$W/frr" -P 0)

birdc_a() { birdc -s "$W/bird-a.ctl" "$@"; }
gobgp_() { ip netns exec fxgobgp gobgp "$@"; }
vtysh_() { ip netns exec fxfrr vtysh --vty_socket "$W/frr" -d bgpd "$@"; }

# GoBGP originates a few routes (with the CLI's attribute options).
for _ in $(seq 50); do gobgp_ global >/dev/null 2>&1 && break; sleep 0.2; done
gobgp_ global rib add -a ipv4 10.63.1.0/24 community 65002:10,65002:20 med 20
gobgp_ global rib add -a ipv4 10.63.2.0/24 large-community 65002:1:1
gobgp_ global rib add -a ipv4 10.63.3.0/24 aspath "65020 {65021,65022}"
gobgp_ global rib add -a ipv4 10.63.4.0/24 aigp metric 200
gobgp_ global rib add -a ipv4 10.80.2.0/24
gobgp_ global rib add -a ipv4 10.81.2.0/24
gobgp_ global rib add -a ipv6 fd63:1::/48 nexthop fd99::2

log "waiting for sessions"
want="a_gobgp a_frr a_frr6 a_ibgp1 a_ibgp2 a_as2 a_b13 a_confed a_hold"
for _ in $(seq 90); do
  up=$(birdc_a show protocols | awk '$2=="BGP" && $6=="Established" {print $1}' | sort | tr '\n' ' ')
  missing=""
  for p in $want; do [[ " $up " == *" $p "* ]] || missing+=" $p"; done
  [[ -z $missing ]] && break
  sleep 1
done
birdc_a show protocols >&2
[[ -z $missing ]] || log "WARNING: not established:$missing"
sleep 8   # initial UPDATEs, FRR aggregation, End-of-RIB

log "route refresh"
birdc_a reload in a_gobgp >&2; sleep 2
birdc_a reload in a_frr >&2; sleep 2
gobgp_ neighbor 10.99.0.1 softresetin; sleep 2
vtysh_ -c 'clear bgp 10.99.0.1 soft in'; sleep 2

log "withdrawals"
birdc_a disable s_wd >&2
birdc_a disable s6wd >&2
sleep 3

log "hold timer: stopping BIRD B for 6 s"
kill -STOP "$(cat "$W/bird-b.pid")"; sleep 6; kill -CONT "$(cat "$W/bird-b.pid")"; sleep 2

log "cease notifications"
birdc_a disable a_b13 '"fixture capture: planned maintenance"' >&2; sleep 1
birdc_a restart a_confed >&2; sleep 2
gobgp_ neighbor 10.99.0.3 reset; sleep 2
vtysh_ -c 'configure terminal' -c 'router bgp 4200000003' \
  -c 'neighbor 10.99.0.1 shutdown message "frr: planned maintenance"'; sleep 2
sleep 2

log "stopping capture"
kill "$DUMPCAP_PID"; wait "$DUMPCAP_PID" 2>/dev/null || true; DUMPCAP_PID=""
cp "$W/lab.pcapng" "$PCAP"
mkdir -p "$HERE/logs"
for f in bird-a.log bird-b.log gobgpd.log frr/bgpd.log; do [[ -f $W/$f ]] && cp "$W/$f" "$HERE/logs/"; done
cat > "$HERE/versions.json" <<VERSIONS
{
  "bird": "BIRD $(bird --version 2>&1 | awk '{print $3}') (Debian bird2 $(dpkg-query -W -f='${Version}' bird2))",
  "gobgpd": "GoBGP $(gobgpd --version | awk '{print $3}') (Debian gobgpd $(dpkg-query -W -f='${Version}' gobgpd))",
  "frr-bgpd": "FRR bgpd $(/usr/lib/frr/bgpd --version | awk 'NR==1{print $3}') (Debian frr $(dpkg-query -W -f='${Version}' frr))",
  "capture": "$(dumpcap --version | head -1), Linux $(uname -r), $(date -u +%Y-%m-%d)"
}
VERSIONS

node "$HERE/split.mjs" "$PCAP" > "$HERE/messages.jsonl"
node "$HERE/select.mjs" "$HERE/messages.jsonl" "$FIX"
log "done"
