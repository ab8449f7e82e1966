#!/usr/bin/env bash
# The traversal matrix (docs/traversal-matrix.md): in the NAT lab, every ordered pair of NAT
# modes, for TCP and UDP, auto_connect and each plugin forced alone, N runs per cell; each run
# is `warpgate listen --echo` on hb and `warpgate connect --json` from ha, recording success,
# the winning plugin and path, and the milliseconds from connect() to the first echo.
# Needs root. Prints a line per cell as it goes; results go to a JSON-lines file, then
# matrix_report.py writes the tables and the heat map.
#
#   matrix.sh [--runs N] [--modes "none full-cone ..."] [--strategies "auto tcp_punch ..."]
#             [--transports "tcp udp"] [--families "ipv4 ipv6"] [--pairs6 "fw6:fw6 ..."]
#             [--cells "A:B:TRANSPORT:STRATEGY ..."]
#             [--delay] [--loss] [--conditions "plain delay loss delay+loss"]
#             [--timeout S] [--jobs J] [--results FILE] [--report FILE.md] [--svg FILE.svg]
#             [--baseline FILE.json]        exit 1 when a cell the baseline says linked did not
#             [--write-baseline FILE.json]  record which cells linked
#
# Defaults: 5 runs, all seven modes, auto + every plugin, both transports, the plain
# condition. Modes: the lab's six router modes (none, full-cone, restricted, port-restricted,
# sequential = symmetric with +1 ports, symmetric = random ports) and cgnat: a carrier-grade
# NAT (port-restricted) in front of a port-restricted home router. --delay and --loss add an
# impaired condition to plain: 20 ms each way per router (delay), 2 % loss each way on both
# WAN links (loss), or both (delay+loss). --cells runs just those cells (the CI's reduced
# matrix).
#
# The IPv6 row (--families ipv6) runs the pairs of --pairs6 instead of every ordered pair:
# fw6 (an IPv6-only host behind its home router's stateful firewall, lab.sh --ip6-X fw6
# --v6-only-X), open6 (IPv6 only, routed without a filter), nat66 (IPv6 only, its ULA LAN
# masqueraded to the router's address) and dual (dual stack: IPv4 behind a port-restricted
# NAT, IPv6 behind fw6; both families race). Default pairs: fw6 x fw6, fw6 x open6,
# nat66 x fw6, nat66 x nat66, dual x dual.
#
# One lab per topology: the routers change mode in place (lab.sh set-nat), so a lab is built
# only when a carrier NAT comes or goes, and every run of a pair shares one listener. --jobs
# splits the pairs over J labs side by side (namespace prefixes wgmatrix0..J-1): a run that
# fails waits out its timeout, which labs can do in parallel.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export WG_LAB_TOOLS=${WG_LAB_TOOLS:-$ROOT/build/tests/lab}
WARPGATE_BIN=${WARPGATE_BIN:-$ROOT/build/apps}
WG=$WARPGATE_BIN/warpgate
LAB=$HERE/lab.sh
PREFIX=${WG_LAB_PREFIX:-wgmatrix}

RUNS=5
MODES="none full-cone restricted port-restricted sequential symmetric cgnat"
STRATEGIES="auto direct_connect reverse_connect tcp_punch udp_punch turn"
TRANSPORTS="tcp udp"
FAMILIES="ipv4 ipv6"
PAIRS6="fw6:fw6 fw6:open6 nat66:fw6 nat66:nat66 dual:dual"
CELLS=""
CONDITIONS="plain"
DELAY=0
LOSS=0
TIMEOUT=10
JOBS=1
RESULTS=$ROOT/build/traversal-matrix.jsonl
REPORT=""
SVG=""
BASELINE=""
WRITE_BASELINE=""
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --strategies) STRATEGIES=$2; shift 2 ;;
    --transports) TRANSPORTS=$2; shift 2 ;;
    --families) FAMILIES=$2; shift 2 ;;
    --pairs6) PAIRS6=$2; shift 2 ;;
    --cells) CELLS=$2; shift 2 ;;
    --conditions) CONDITIONS=$2; shift 2 ;;
    --delay) DELAY=1; shift ;;
    --loss) LOSS=1; shift ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    --svg) SVG=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --write-baseline) WRITE_BASELINE=$2; shift 2 ;;
    *) echo "matrix: unknown option $1" >&2; exit 2 ;;
  esac
done
case $DELAY$LOSS in
  10) CONDITIONS+=" delay" ;;
  01) CONDITIONS+=" loss" ;;
  11) CONDITIONS+=" delay+loss" ;;
esac
[ -x "$WG" ] || { echo "matrix: $WG is not built (cmake --build build --target warpgate_cli)" >&2; exit 2; }
"$LAB" check || exit $?

SERVER4=198.51.100.100
SERVER6=[2001:db8:100::100]
# WG_MATRIX_TURN_TRANSPORT=tcp: both sides reach coturn over TCP, which also gives TCP links a
# relay (RFC 6062; docs/turn.md). The default (udp) leaves TCP without one.
TURN_TRANSPORT=${WG_MATRIX_TURN_TRANSPORT:-udp}
# node_flags_for A B: the servers a pair's nodes use, in NODE_FLAGS: those of its families
# (an IPv6-only host reaches only wan's IPv6 address; a dual-stack one learns both sides'
# mappings).
node_flags_for() {
  local mqtt=$SERVER4 stun=("--stun" "$SERVER4:3478") turn=$SERVER4
  case $(family "$1") in
    ipv6) mqtt=$SERVER6 stun=(--stun "$SERVER6:3478") turn=$SERVER6 ;;
    dual) mqtt=$SERVER6 stun=(--stun "$SERVER6:3478" --stun "$SERVER4:3478") ;;
  esac
  NODE_FLAGS=(--test --mqtt "$mqtt:1883" "${stun[@]}" --turn "$turn:3478" --turn-user test --turn-pass test --turn-transport "$TURN_TRANSPORT")
}

# A mode's family: ipv6 for the IPv6-only modes, dual, or ipv4 (the routers' NAT modes).
family() {
  case $1 in
    fw6 | open6 | nat66) echo ipv6 ;;
    dual) echo dual ;;
    *) echo ipv4 ;;
  esac
}
# The lab.sh IPv6 mode of an IPv6 side (dual: its IPv6 side is firewalled).
mode6() {
  case $1 in
    open6) echo open ;;
    dual) echo fw6 ;;
    *) echo "$1" ;;
  esac
}

# Which strategies serve which transport: the punches are one transport each, the relay is UDP
# unless coturn is reached over TCP.
serves() {
  case $1:$2 in
    tcp_punch:udp | udp_punch:tcp) return 1 ;;
    turn:tcp) [ "$TURN_TRANSPORT" = tcp ] || return 1 ;;
  esac
  return 0
}

# A cgnat side is a port-restricted home router behind the carrier's NAT, as is a dual one's
# IPv4 side; an IPv6-only side's router has no IPv4 host behind it.
router_mode() {
  case $1 in
    cgnat | dual) echo port-restricted ;;
    fw6 | open6 | nat66) echo none ;;
    *) echo "$1" ;;
  esac
}
# Which lab a pair needs: carrier NATs on either side (00..11), IPv6 only (6) or dual stack (d).
topology() {
  case $(family "$1") in
    ipv6) echo 6 ;;
    dual) echo d ;;
    *) echo "$([ "$1" = cgnat ] && echo 1 || echo 0)$([ "$2" = cgnat ] && echo 1 || echo 0)" ;;
  esac
}

# The cells to run, one "CONDITION A B TRANSPORT STRATEGY" line each, grouped so that a
# topology's pairs and a pair's cells are neighbours.
plan() {
  local condition a b transport strategy cell order=0
  for condition in $CONDITIONS; do
    order=$((order + 1))
    if [ -n "$CELLS" ]; then
      for cell in $CELLS; do
        IFS=: read -r a b transport strategy <<<"$cell"
        echo "$order $condition $a $b $transport $strategy"
      done
    else
      local pairs=""
      if [[ " $FAMILIES " == *" ipv4 "* ]]; then
        for a in $MODES; do for b in $MODES; do pairs+=" $a:$b"; done; done
      fi
      [[ " $FAMILIES " != *" ipv6 "* ]] || pairs+=" $PAIRS6"
      for cell in $pairs; do
        IFS=: read -r a b <<<"$cell"
        for transport in $TRANSPORTS; do
          for strategy in $STRATEGIES; do
            if serves "$strategy" "$transport"; then echo "$order $condition $a $b $transport $strategy"; fi
          done
        done
      done
    fi
  done | while read -r order condition a b rest; do echo "$(topology "$a" "$b") $order $condition $a $b $rest"; done |
    sort -s -k2,2n -k1,1 | cut -d' ' -f3-
}

# ---- one worker: its own lab, a share of the pairs ------------------------------------------

# worker INDEX PLAN_FILE RESULTS_FILE: runs the pairs of PLAN_FILE whose rank (in order of
# first appearance) is INDEX modulo JOBS.
worker() {
  local index=$1 plan_file=$2 results=$3
  export WG_LAB_PREFIX=$PREFIX$index
  export WG_LAB_RUN=/tmp/wg-lab-$WG_LAB_PREFIX
  WORK=$(mktemp -d "/tmp/wg-matrix-$index.XXXX")
  trap '"$LAB" down >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  trap 'exit 143' TERM
  : >"$results"
  local lab_key="" pair_key="" rank=-1 condition a b transport strategy
  while read -r condition a b transport strategy; do
    if [ "$condition $a $b" != "$pair_key" ]; then
      [ -z "$pair_key" ] || [ $((rank % JOBS)) -ne "$index" ] || stop_listener
      pair_key="$condition $a $b"
      rank=$((rank + 1))
      [ $((rank % JOBS)) -eq "$index" ] || continue
      local key="$condition $(topology "$a" "$b")"
      if [ "$key" != "$lab_key" ]; then
        lab_up "$condition" "$a" "$b"
        lab_key=$key
      fi
      if [ "$(family "$a")" = ipv6 ]; then
        "$LAB" set-ip6 ra "$(mode6 "$a")" >/dev/null
        "$LAB" set-ip6 rb "$(mode6 "$b")" >/dev/null
      elif [ "$(family "$a")" = dual ]; then
        : # its lab was built in its modes (lab_up): nothing to change
      else
        "$LAB" set-nat ra "$(router_mode "$a")" >/dev/null
        "$LAB" set-nat rb "$(router_mode "$b")" >/dev/null
      fi
      node_flags_for "$a" "$b"
      LISTENING=1
      if ! start_listener; then
        echo "$condition $a x $b: the listener did not start: $(tail -n 3 "$WORK/listen.log")"
        LISTENING=0
      fi
    fi
    [ $((rank % JOBS)) -eq "$index" ] || continue
    if [ "$LISTENING" = 1 ]; then run_cell "$condition" "$a" "$b" "$transport" "$strategy" "$results"; fi
  done <"$plan_file"
  [ -z "$pair_key" ] || [ $((rank % JOBS)) -ne "$index" ] || stop_listener
}

# lab_up CONDITION A B: the topology for the pair A x B under CONDITION.
lab_up() {
  local up=()
  [ "$2" != cgnat ] || up+=(--cgnat-a)
  [ "$3" != cgnat ] || up+=(--cgnat-b)
  case $(topology "$2" "$3") in
    6) up+=(--ip6-a "$(mode6 "$2")" --ip6-b "$(mode6 "$3")" --v6-only-a --v6-only-b) ;;
    d) up+=(--ip6-a fw6 --ip6-b fw6) ;;
  esac
  case $1 in
    plain) ;;
    delay) up+=(--delay-a 20 --delay-b 20) ;;
    loss) up+=(--loss-a 2 --loss-b 2) ;;
    delay+loss) up+=(--delay-a 20 --delay-b 20 --loss-a 2 --loss-b 2) ;;
    *) echo "matrix: unknown condition $1" >&2; exit 2 ;;
  esac
  "$LAB" up --nat-a "$(router_mode "$2")" --nat-b "$(router_mode "$3")" "${up[@]}" >/dev/null
}

# The listener restarts per pair: its address carries its NAT facts.
start_listener() {
  rm -f "$WORK/b.addr"
  "$LAB" exec hb -- env XDG_DATA_HOME="$WORK/b" "$WG" listen "${NODE_FLAGS[@]}" --echo --addr-out "$WORK/b.addr" \
    >"$WORK/listen.log" 2>&1 &
  LISTENER=$!
  for ((i = 0; i < 150; i++)); do [ -s "$WORK/b.addr" ] && return 0; sleep 0.1; done
  return 1
}

stop_listener() {
  kill -TERM "$LISTENER" 2>/dev/null || true
  wait "$LISTENER" 2>/dev/null || true
}

# run_cell CONDITION A B TRANSPORT STRATEGY RESULTS: RUNS connects, one JSON line each, then
# the cell's line of progress.
run_cell() {
  local condition=$1 a=$2 b=$3 transport=$4 strategy=$5 results=$6 run out rc ok=0 times=() winners=()
  local plugins=()
  [ "$strategy" = auto ] || plugins=(--plugins "$strategy")
  for ((run = 1; run <= RUNS; run++)); do
    # --port 0: a fresh local port per run, or the last run's 4-tuple may sit in TIME_WAIT.
    # A connect that outlives its own --timeout by far is killed and counted as hung.
    rc=0
    out=$("$LAB" exec ha -- timeout -k 5 "$((TIMEOUT + 20))" env XDG_DATA_HOME="$WORK/a" "$WG" connect "@$WORK/b.addr" \
      "${NODE_FLAGS[@]}" --port 0 --transport "$transport" "${plugins[@]}" --json --send "matrix $run" --timeout "$TIMEOUT" \
      2>"$WORK/connect.err") || rc=$?
    [ "$rc" != 124 ] && [ "$rc" != 137 ] || echo "hung: still running $((TIMEOUT + 20)) s after connect began, killed" >>"$WORK/connect.err"
    # (jq passes empty input: a connect that printed nothing, hung or crashed, linked nothing.)
    { [ -n "$out" ] && jq -e 'type == "object"' <<<"$out" >/dev/null 2>&1; } || out='{}'
    out=$(jq -c --arg c "$condition" --arg a "$a" --arg b "$b" --arg t "$transport" --arg s "$strategy" --argjson r "$run" \
      --arg stderr "$(tail -n 1 "$WORK/connect.err")" \
      '{condition: $c, a: $a, b: $b, transport: $t, strategy: $s, run: $r, linked: (.reply != null),
        plugin: .plugin, attempt: .attempt, relayed: .relayed, first_echo_ms: .first_echo_ms,
        error: (if .reply then null else (.error // $stderr) end)}' <<<"$out")
    echo "$out" >>"$results"
    if jq -e .linked <<<"$out" >/dev/null; then
      ok=$((ok + 1))
      times+=("$(jq -r .first_echo_ms <<<"$out")")
      winners+=("$(jq -r .plugin <<<"$out")")
    fi
  done
  local median="" won=""
  if [ ${#times[@]} -gt 0 ]; then
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{v[NR]=$1} END {printf "%.0f ms", v[int((NR+1)/2)]}')
    [ "$strategy" != auto ] || won="($(printf '%s\n' "${winners[@]}" | sort -u | paste -sd,))"
  fi
  printf '%-10s %-15s x %-15s %-3s %-15s %d/%d %8s %s\n' "$condition" "$a" "$b" "$transport" "$strategy" "$ok" "$RUNS" "$median" "$won"
}

# ---- main: plan, workers, report ------------------------------------------------------------

scratch=$(mktemp -d /tmp/wg-matrix.XXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
plan >"$scratch/plan"
pairs=$(cut -d' ' -f1-3 "$scratch/plan" | uniq | wc -l)
echo "matrix: $(wc -l <"$scratch/plan") cells in $pairs pairs, $RUNS runs each, $JOBS lab(s), conditions: $CONDITIONS"
begin=$(date +%s)
for ((j = 0; j < JOBS; j++)); do
  worker "$j" "$scratch/plan" "$scratch/results.$j" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
pids=()
cat "$scratch"/results.* >"$RESULTS"
took=$(($(date +%s) - begin))
echo "matrix: $(wc -l <"$RESULTS") runs in $took s, raw results in $RESULTS"
[ "$failed" = 0 ] || { echo "matrix: a lab worker failed" >&2; exit 1; }

report_args=("$RESULTS" --note "Run $(date -u +%F): $RUNS runs per cell, timeout $TIMEOUT s per connect, $JOBS lab(s) side by side on \
$(nproc) shared cores, $((took / 60)) min $((took % 60)) s in all.")
[ -z "$REPORT" ] || report_args+=(--report "$REPORT")
[ -z "$SVG" ] || report_args+=(--svg "$SVG")
[ -z "$BASELINE" ] || report_args+=(--baseline "$BASELINE")
[ -z "$WRITE_BASELINE" ] || report_args+=(--write-baseline "$WRITE_BASELINE")
python3 "$HERE/matrix_report.py" "${report_args[@]}"
