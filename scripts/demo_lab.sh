#!/usr/bin/env bash
# The demo across real NATs (scripts/demo.sh runs it as root): the NAT lab (tests/lab/lab.sh,
# docs/lab.md) puts peer a behind router ra and peer b behind router rb, each NATing the way
# home routers do, with coturn and mosquitto on the lab's "internet". b listens and echoes;
# a links to b's address by auto_connect over UDP and then TCP, prints which strategies raced
# and which won, and the two chat over the link. The lab is torn down at the end.
#
#   demo_lab.sh [--nat-a MODE] [--nat-b MODE]    (default port-restricted both; modes: none,
#                full-cone, restricted, port-restricted, sequential, symmetric)
set -euo pipefail
cd "$(dirname "$0")/.."
NAT_A=port-restricted
NAT_B=port-restricted
while [ $# -gt 0 ]; do
  case $1 in
    --nat-a) NAT_A=${2:?--nat-a needs a mode}; shift 2 ;;
    --nat-b) NAT_B=${2:?--nat-b needs a mode}; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1 (--nat-a MODE, --nat-b MODE)" >&2; exit 2 ;;
  esac
done
LAB=tests/lab/lab.sh
WG=${WARPGATE_BIN:-build/apps}/warpgate
export WG_LAB_PREFIX=wgdemo WG_LAB_RUN=/tmp/wg-lab-wgdemo
NODE=(--test --mqtt 198.51.100.100:1883 --stun 198.51.100.100:3478 --turn 198.51.100.100:3478 --turn-user test --turn-pass test)
work=$(mktemp -d /tmp/wg-demo.XXXX)
LISTENER=""
say() { echo "demo: $*"; }
finish() {
  [ -z "$LISTENER" ] || { kill -TERM "$LISTENER" 2>/dev/null || true; wait "$LISTENER" 2>/dev/null || true; }
  "$LAB" down >/dev/null 2>&1 || true
  rm -rf "$work"
  say "lab torn down: no namespace, process or rule of it is left"
}
trap finish EXIT

say "building the lab: a behind a $NAT_A NAT (router ra), b behind a $NAT_B NAT (router rb)"
"$LAB" up --nat-a "$NAT_A" --nat-b "$NAT_B" >/dev/null
say "a is $("$LAB" ip ha) behind ra $("$LAB" ip ra); b is $("$LAB" ip hb) behind rb $("$LAB" ip rb)"
say "on the lab's internet: STUN/TURN (coturn) and MQTT signaling (mosquitto) at 198.51.100.100"

"$LAB" exec hb -- env XDG_DATA_HOME="$work/b" "$WG" listen "${NODE[@]}" --echo --addr-out "$work/b.addr" >>"$work/b.log" 2>&1 &
LISTENER=$!
for ((i = 0; i < 150; i++)); do [ -s "$work/b.addr" ] && break; sleep 0.1; done
[ -s "$work/b.addr" ] || { say "b did not start:"; cat "$work/b.log"; exit 1; }
say "b listens and echoes; its address, as b would share it: $(cut -c1-60 "$work/b.addr")..."

for transport in udp tcp; do
  echo
  say "a connects to b over ${transport^^} by auto_connect: every applicable strategy races"
  seen=$(stat -c %s "$work/b.log") # b's lines of this link: those after it
  "$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" connect "@$work/b.addr" "${NODE[@]}" --port 0 --transport "$transport" \
    --send "hi b, a here, behind a $NAT_A NAT" --repeat 3 --interval 300 --timeout 10 2>"$work/a.err" | sed 's/^/  a | /' ||
    { say "no link over ${transport^^}:"; tail -n 5 "$work/a.err"; continue; }
  tail -c +$((seen + 1)) "$work/b.log" | sed 's/^/  b | /'
done
echo
