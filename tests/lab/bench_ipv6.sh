#!/usr/bin/env bash
# Bench (not a CTest test; root): the time from connect() to the first echoed message (connect
# --json's first_echo_ms) for each IPv6 case of tests/lab/test_ipv6.sh: fw6 x fw6 tcp_punch,
# udp_punch and auto_connect over TCP and UDP, fw6 x open direct_connect, dual stack (IPv4
# behind two port-restricted NATs) linking over IPv6 first, NAT66 x fw6 and NAT66 x NAT66;
# RUNS connects each (default 10). Prints the median, min and max of the runs that linked over
# IPv6 and writes them as JSON to OUT (default bench/ipv6-results.json), one object per case
# in bench/results.json's shape (figure, unit, value = the median) plus the runs and passes.
#   sudo WG_LAB_TOOLS=build/tests/lab WARPGATE_BIN=build/apps tests/lab/bench_ipv6.sh
# Exits with test_ipv6.sh's status (a case short of its passes fails it).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$(cd "$HERE/../.." && pwd)/bench/ipv6-results.json}
cases=$(mktemp /tmp/wg-bench-ipv6.XXXX)
trap 'rm -f "$cases"' EXIT
rc=0
WG_IPV6_RUNS=${RUNS:-10} WG_IPV6_BENCH=$cases bash "$HERE/test_ipv6.sh" || rc=$?
jq -s '[.[] | {figure: "connect() to first echo, IPv6 \(.case)", unit: "ms", value: .median_ms, target: null, baseline: null,
  baseline_is: "", ratio: null, min: .min_ms, max: .max_ms, runs: .runs, linked: .linked}]' "$cases" >"$OUT"
echo
printf '%-70s %8s %8s %8s %7s\n' "IPv6 case" "median" "min" "max" "linked"
jq -r '.[] | [.figure, (.value // "-" | tostring), (.min // "-" | tostring), (.max // "-" | tostring), "\(.linked)/\(.runs)"] | @tsv' "$OUT" |
  while IFS=$'\t' read -r figure median min max linked; do
    printf '%-70s %8.8s %8.8s %8.8s %7s\n' "${figure#connect() to first echo, IPv6 }" "$median" "$min" "$max" "$linked"
  done
echo "bench: $OUT"
exit "$rc"
