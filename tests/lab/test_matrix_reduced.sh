#!/usr/bin/env bash
# The traversal matrix, reduced for CI: a handful of representative cells of
# docs/traversal-matrix.md, one run each, through matrix.sh (the same `listen --echo` /
# `connect --json` runs as the full matrix). Fails when a cell that linked in the checked-in
# baseline (matrix_reduced_baseline.json: cells that linked in every run of the full matrix,
# docs/traversal-matrix.jsonl) does not link now.
. "$(dirname "$0")/testlib.sh"
lab_test matrix
WG="${WARPGATE_BIN:?WARPGATE_BIN must name the folder of the built warpgate CLI}/warpgate"
[ -x "$WG" ] || { echo "FAIL: $WG is not built (cmake --build the warpgate_cli target)"; exit 1; }
# matrix.sh names its lab $WG_LAB_PREFIX0; the test's teardown must take that one down.
lab_extra 0

# a:b:transport:strategy. Public both sides; the two cone filters a punch must beat, over
# TCP and UDP; a cone against a random symmetric NAT (the cone side's mapping is the target);
# two carrier-grade double NATs; two random symmetric NATs only a relay links; the IPv6 row's
# two IPv6-only hosts behind stateful firewalls (a lab of its own: one cell only).
CELLS="none:none:tcp:auto none:none:udp:auto
  port-restricted:port-restricted:tcp:auto port-restricted:port-restricted:udp:auto
  full-cone:symmetric:udp:auto sequential:port-restricted:tcp:tcp_punch
  cgnat:cgnat:udp:udp_punch symmetric:symmetric:udp:turn fw6:fw6:udp:auto"
results="$WG_LAB_RUN-results.jsonl"
rc=0
WG_LAB_PREFIX=$WG_LAB_PREFIX "$LAB_DIR/matrix.sh" --runs 1 --cells "$CELLS" --results "$results" \
  --baseline "$LAB_DIR/matrix_reduced_baseline.json" || rc=$?
check "no cell of the baseline regressed (matrix.sh exit $rc)" test "$rc" -eq 0
check "every cell ran once ($(wc -l <"$results" 2>/dev/null || echo 0) results)" test "$(wc -l <"$results")" -eq "$(wc -w <<<"$CELLS")"
linked_by() { jq -se --arg a "$1" --arg b "$2" --arg s "$3" 'any(.[]; .a == $a and .b == $b and .strategy == $s and .linked)' "$results" >/dev/null; }
relayed() { jq -se 'any(.[]; .strategy == "turn" and .linked and .relayed == true)' "$results" >/dev/null; }
check "random symmetric x random symmetric: turn links, relayed" relayed
check "port-restricted x port-restricted: auto_connect links over UDP and TCP" \
  test "$(jq -s '[.[] | select(.a == "port-restricted" and .b == "port-restricted" and .linked)] | length' "$results")" -eq 2
check "carrier-grade double NAT on both sides: udp_punch links" linked_by cgnat cgnat udp_punch
over_ipv6() { jq -se 'any(.[]; .a == "fw6" and .b == "fw6" and .linked and (.attempt | test("IPv6")))' "$results" >/dev/null; }
check "IPv6 firewall on both sides: auto_connect links over IPv6" over_ipv6
rm -f "$results"
lab_done
