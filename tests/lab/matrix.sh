#!/usr/bin/env bash
# The traversal matrix (docs/traversal-matrix.md): in the NAT lab, every ordered pair of NAT
# modes, for TCP and UDP, auto_connect and each plugin forced alone, N runs per cell; each run
# is `warpgate listen --echo` on hb and `warpgate connect --json` from ha, recording success,
# the winning plugin and attempt, and the milliseconds from connect() to the first echo.
# Needs root. Prints a line per cell as it goes; results go to a JSON-lines file, then
# matrix_report.py writes the tables and the heat map.
#
#   matrix.sh [--runs N] [--modes "none full-cone ..."] [--strategies "auto tcp_punch ..."]
#             [--transports "tcp udp"] [--conditions "plain delay loss cgnat"]
#             [--results FILE] [--report FILE.md] [--svg FILE.svg]
#             [--baseline FILE.json]        exit 1 when a cell the baseline says linked did not
#             [--write-baseline FILE.json]  record which cells linked
#
# Defaults: 5 runs, all six lab modes, auto + every plugin, both transports, the plain
# condition. `cgnat` puts a carrier-grade NAT in front of side a (lab.sh --cgnat-a), `delay`
# adds 20 ms per router, `loss` drops 2 % both ways on both WAN links.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export WG_LAB_TOOLS=${WG_LAB_TOOLS:-$ROOT/build/tests/lab}
. "$HERE/testlib.sh"  # start_listener, stop_listener
WARPGATE_BIN=${WARPGATE_BIN:-$ROOT/build/apps}
WG=$WARPGATE_BIN/warpgate
LAB=$HERE/lab.sh
export WG_LAB_PREFIX=${WG_LAB_PREFIX:-wgmatrix}
export WG_LAB_RUN=/tmp/wg-lab-$WG_LAB_PREFIX

RUNS=5
MODES="none full-cone restricted port-restricted sequential symmetric"
STRATEGIES="auto direct_connect reverse_connect tcp_punch udp_punch turn"
TRANSPORTS="tcp udp"
CONDITIONS="plain"
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
    --conditions) CONDITIONS=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    --svg) SVG=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --write-baseline) WRITE_BASELINE=$2; shift 2 ;;
    *) echo "matrix: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$WG" ] || { echo "matrix: $WG is not built (cmake --build build --target warpgate_cli)" >&2; exit 2; }
"$LAB" check || exit $?

MQTT=198.51.100.100:1883
STUN=198.51.100.100:3478
TURN=198.51.100.100:3478
work=$(mktemp -d /tmp/wg-matrix.XXXX)
trap '"$LAB" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
: >"$RESULTS"

# Which strategies serve which transport: the punches and the relay are one transport each.
serves() {
  case $1:$2 in
    tcp_punch:udp | udp_punch:tcp | turn:tcp) return 1 ;;
  esac
  return 0
}

node_flags=(--test --mqtt "$MQTT" --stun "$STUN")
if "$WG" listen --help 2>&1 | grep -q -- "--turn"; then node_flags+=(--turn "$TURN" --turn-user test --turn-pass test); fi
LISTEN_FLAGS=("${node_flags[@]}")

# run_cell CONDITION MODE_A MODE_B TRANSPORT STRATEGY: RUNS connects, one JSON line each.
run_cell() {
  local condition=$1 a=$2 b=$3 transport=$4 strategy=$5 run out ok=0 times=()
  local plugins=()
  [ "$strategy" = auto ] || plugins=(--plugins "$strategy")
  for ((run = 1; run <= RUNS; run++)); do
    out=$("$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" connect "@$work/b.addr" "${node_flags[@]}" --port 0 \
      --transport "$transport" "${plugins[@]}" --json --send "matrix $run" --timeout 10 2>"$work/connect.err") || true
    if grep -q "no plugin named" "$work/connect.err"; then
      echo "$strategy: not in this build"
      return 0
    fi
    jq -ec . <<<"$out" >/dev/null 2>&1 || out='{}'
    jq -c --arg c "$condition" --arg a "$a" --arg b "$b" --arg t "$transport" --arg s "$strategy" --argjson r "$run" \
      --arg stderr "$(tail -n 1 "$work/connect.err")" \
      '{condition: $c, a: $a, b: $b, transport: $t, strategy: $s, run: $r, linked: (.reply != null),
        plugin: .plugin, attempt: .attempt, first_echo_ms: .first_echo_ms, error: (.error // (if .reply then null else $stderr end))}' \
      <<<"$out" >>"$RESULTS"
    if jq -e '.reply != null' <<<"$out" >/dev/null; then
      ok=$((ok + 1))
      times+=("$(jq -r '.first_echo_ms' <<<"$out")")
    fi
  done
  local median="-"
  if [ ${#times[@]} -gt 0 ]; then median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{v[NR]=$1} END {printf "%.0f ms", v[int((NR+1)/2)]}'); fi
  printf '%-6s %-16s x %-16s %-3s %-16s %d/%d  %s\n' "$condition" "$a" "$b" "$transport" "$strategy" "$ok" "$RUNS" "$median"
}

for condition in $CONDITIONS; do
  case $condition in
    plain) up=() ;;
    delay) up=(--delay-a 20 --delay-b 20) ;;
    loss) up=(--loss-a 2 --loss-b 2) ;;
    cgnat) up=(--cgnat-a) ;;
    *) echo "matrix: unknown condition $condition" >&2; exit 2 ;;
  esac
  "$LAB" up "${up[@]}" >/dev/null
  for a in $MODES; do
    for b in $MODES; do
      "$LAB" set-nat ra "$a" >/dev/null
      "$LAB" set-nat rb "$b" >/dev/null
      if ! start_listener; then
        echo "$condition $a x $b: the listener did not start: $(tail -n 3 "$work/listen.log")"
        stop_listener
        continue
      fi
      for transport in $TRANSPORTS; do
        for strategy in $STRATEGIES; do
          serves "$strategy" "$transport" || continue
          run_cell "$condition" "$a" "$b" "$transport" "$strategy"
        done
      done
      stop_listener
      "$LAB" flush >/dev/null
    done
  done
  "$LAB" down >/dev/null
done

report_args=("$RESULTS")
[ -z "$REPORT" ] || report_args+=(--report "$REPORT")
[ -z "$SVG" ] || report_args+=(--svg "$SVG")
[ -z "$BASELINE" ] || report_args+=(--baseline "$BASELINE")
[ -z "$WRITE_BASELINE" ] || report_args+=(--write-baseline "$WRITE_BASELINE")
python3 "$HERE/matrix_report.py" "${report_args[@]}"
