# shellcheck shell=bash
# Sourced by the lab's CTest scripts (test_*.sh): skip where the lab cannot run, a namespace
# prefix per test, teardown on any exit, and counted checks.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$LAB_DIR/lab.sh"
PUNCH="${WG_LAB_TOOLS:?WG_LAB_TOOLS must name the folder of the built lab tools}/lab_udp_punch"
STUN=198.51.100.100:3478
MQTT=198.51.100.100:1883
LAB_TURN=(--turn 198.51.100.100:3478 --turn-user test --turn-pass test)  # the lab's coturn, as CLI flags
CHECKS=0
FAILS=0

# lab_test NAME: exits 77 (CTest: skipped) with the reason when the lab cannot run here;
# otherwise claims the prefix of this test in this build tree and tears it down on exit. A
# run killed mid-way leaves its namespaces behind; the next run of it removes them (`up`
# starts with `down`), and other build trees or hand-made labs use other prefixes.
lab_test() {
  "$LAB" check || exit $?
  [ -x "$PUNCH" ] || { echo "FAIL: $PUNCH is not built (cmake --build the lab_udp_punch target)"; exit 1; }
  local tree
  tree=$(printf '%s' "$WG_LAB_TOOLS" | md5sum | cut -c1-4)
  export WG_LAB_PREFIX="wgt$tree-$1"
  export WG_LAB_RUN="/tmp/wg-lab-$WG_LAB_PREFIX"
  trap lab_finish EXIT
}

lab_finish() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -f "$WG_LAB_RUN/state" ]; then
    echo "--- lab at the failure"
    "$LAB" status || true
    tail -n 15 "$WG_LAB_RUN"/*.log 2>/dev/null || true
  fi
  "$LAB" down || rc=1
  local extra
  for extra in "${LAB_EXTRA_PREFIXES[@]}"; do
    WG_LAB_PREFIX=$extra WG_LAB_RUN=/tmp/wg-lab-$extra "$LAB" down || rc=1
  done
  exit "$rc"
}

# lab_extra SUFFIX: adds the prefix of one more lab of this test to LAB_EXTRA_PREFIXES; it is
# taken down on exit too.
LAB_EXTRA_PREFIXES=()
lab_extra() {
  LAB_EXTRA_PREFIXES+=("$WG_LAB_PREFIX$1")
}

# need_warpgate: WG names the built CLI ($WARPGATE_BIN/warpgate, as CTest sets it); the test
# fails when it is not built.
need_warpgate() {
  WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
  [ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }
}

need_tcpdump() {
  command -v tcpdump >/dev/null || { echo "FAIL: tcpdump is not installed (scripts/install-deps.sh)"; exit 1; }
}

ok() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }
# check WHAT CMD...: one counted check, passing when CMD succeeds.
check() {
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
not() { ! "$@"; }
# contains TEXT PATTERN: grep -E over a variable.
contains() { grep -qE -- "$2" <<<"$1"; }

# Ends the test: non-zero when any check failed, and never a pass that checked nothing.
lab_done() {
  [ "$CHECKS" -gt 0 ] || { echo "FAIL: no check ran"; exit 1; }
  if [ "$FAILS" -gt 0 ]; then echo "$FAILS of $CHECKS checks failed"; exit 1; fi
  echo "all $CHECKS checks passed"
}

# start_listener: `warpgate listen --echo` on hb with the test's LISTEN_FLAGS (an array), its
# data under $work/b and its log in $work/listen.log ($WG and $work are the test's); waits up
# to 15 s for its address in $work/b.addr. Its pid in LISTENER. Tests restart it per case when
# the case changes a NAT: the address carries the NAT facts.
start_listener() {
  local i
  rm -f "$work/b.addr"
  "$LAB" exec hb -- env XDG_DATA_HOME="$work/b" "$WG" listen "${LISTEN_FLAGS[@]}" --echo --addr-out "$work/b.addr" \
    >"$work/listen.log" 2>&1 &
  LISTENER=$!
  for ((i = 0; i < 150; i++)); do [ -s "$work/b.addr" ] && return 0; sleep 0.1; done
  return 1
}

stop_listener() {
  kill -TERM "$LISTENER" 2>/dev/null || true
  wait "$LISTENER" 2>/dev/null || true
}

# punch_hosts: a plain UDP hole punch between ha and hb (both learn their mapping from the
# lab's STUN server, then fire at each other's). 0: both got through, 1: not, 2: could not
# run. The two sides' logs stay in $PUNCH_LOGS.
punch_hosts() {
  local rc_a=0 rc_b=0 pid
  PUNCH_LOGS=$(mktemp -d "$WG_LAB_RUN/punch.XXXX")
  "$LAB" exec ha -- "$PUNCH" punch --stun "$STUN" --me "$PUNCH_LOGS/a" --peer "$PUNCH_LOGS/b" --timeout 3 >"$PUNCH_LOGS/a.log" 2>&1 &
  pid=$!
  "$LAB" exec hb -- "$PUNCH" punch --stun "$STUN" --me "$PUNCH_LOGS/b" --peer "$PUNCH_LOGS/a" --timeout 3 >"$PUNCH_LOGS/b.log" 2>&1 || rc_b=$?
  wait "$pid" || rc_a=$?
  if [ "$rc_a" -gt 1 ] || [ "$rc_b" -gt 1 ]; then
    echo "punch could not run:"; cat "$PUNCH_LOGS/a.log" "$PUNCH_LOGS/b.log"
    return 2
  fi
  [ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ]
}

# punch MODE_A MODE_B: sets both routers, then punch_hosts.
punch() {
  "$LAB" set-nat ra "$1" || return 2
  "$LAB" set-nat rb "$2" || return 2
  punch_hosts
}

# expect_punch success|fail MODE_A MODE_B: one counted check of a punch's outcome.
expect_punch() {
  local want=$1 rc=0
  punch "$2" "$3" || rc=$?
  case $want:$rc in
    success:0 | fail:1) ok "udp punch $2 x $3: $want as expected" ;;
    *) bad "udp punch $2 x $3: expected $want, got $([ "$rc" = 0 ] && echo success || echo "failure ($rc)")" ;;
  esac
}

# udp_reaches FROM_HOST SRC_IP TO_HOST DST_IP PORT: a datagram sent from FROM_HOST (bound to
# SRC_IP) to DST_IP:PORT arrives on TO_HOST's PORT. Resent until it lands or 3 s pass, so
# the receiver's start-up is no race.
udp_reaches() {
  local out pid i
  out=$(mktemp "$WG_LAB_RUN/udp.XXXX")
  "$LAB" exec "$3" -- timeout 3 socat -u "UDP-RECVFROM:$5" STDOUT >"$out" 2>/dev/null &
  pid=$!
  for ((i = 0; i < 30; i++)); do
    echo "lab-datagram" | "$LAB" exec "$1" -- socat -u STDIN "UDP-SENDTO:$4:$5,bind=$2" 2>/dev/null || true
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  wait "$pid" 2>/dev/null || true
  grep -q lab-datagram "$out"
}
