#!/usr/bin/env bash
# Self-check of the lab itself: bring-up is idempotent, a bring-up killed half-way poisons
# nothing, the internet is closed (wan routes the unknown into its sink), and teardown leaves
# no namespace, process or rule behind on the machine.
. "$(dirname "$0")/testlib.sh"
lab_test lifecycle

# What the machine looks like outside any lab namespace.
host_snapshot() {
  iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
  nft list ruleset 2>/dev/null
  ip -o link show | awk -F': ' '{print $2}'
  ip route show
  ls /var/run/turnserver.pid 2>/dev/null || true
}
lab_namespaces() { ip netns list | awk '{print $1}' | grep "^$WG_LAB_PREFIX-" || true; }
lab_pids() { local n; for n in $(lab_namespaces); do ip netns pids "$n"; done; }
# A zombie is dead: whoever adopted the lab's daemons (init here) reaps it in its own time.
alive() {
  local p
  for p in "$@"; do
    case $(ps -o stat= -p "$p" 2>/dev/null) in "" | Z*) ;; *) ps -o pid,stat,args -p "$p"; return 0 ;; esac
  done
  return 1
}
timed() { local t0=$EPOCHREALTIME; "$@" >/dev/null; echo "  ($* took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s)"; }

"$LAB" down
before=$(host_snapshot)

timed "$LAB" up
timed "$LAB" up --nat-a symmetric --nat-b sequential
check "up twice: five namespaces" [ "$(lab_namespaces | wc -l)" = 5 ]
check "up twice: no server dead" not contains "$("$LAB" status)" DEAD
check "up twice: STUN answers through the new NAT" contains "$("$LAB" exec ha -- "$PUNCH" map "$STUN")" " 198.51.100.2:"
check "ip ha is 10.1.0.2" [ "$("$LAB" ip ha)" = 10.1.0.2 ]
check "ip rb is 203.0.113.2" [ "$("$LAB" ip rb)" = 203.0.113.2 ]
check "ip wan is 198.51.100.100" [ "$("$LAB" ip wan)" = 198.51.100.100 ]
check "exec on an unknown host fails" not "$LAB" exec zz -- true
check "unknown NAT mode refused" not "$LAB" set-nat ra cone
# Routes only: nothing is sent to an address outside the lab.
check "wan sends the unknown into its sink" contains "$(ip -n "$WG_LAB_PREFIX-wan" route get 192.0.2.1)" "dev sink0"
check "routers have no way out but wan" contains "$(ip -n "$WG_LAB_PREFIX-ra" route get 192.0.2.1)" "via 198.51.100.1 dev wan0"

# A test killed in the middle of bring-up, then the next run of the same test.
"$LAB" up --upnp-a >/dev/null 2>&1 &
sleep 1.5
kill -KILL $! 2>/dev/null || true
wait $! 2>/dev/null || true
timed "$LAB" up --cgnat-a
check "up after a killed up: six namespaces (carrier included)" [ "$(lab_namespaces | wc -l)" = 6 ]
check "up after a killed up: STUN answers" contains "$("$LAB" exec ha -- "$PUNCH" map "$STUN")" " 198.51.100.2:"

# Lost run state (rm -rf of /tmp) must not stop down from finding everything.
pids=$(lab_pids)
rm -rf "$WG_LAB_RUN"
timed "$LAB" down
check "down: no lab namespace left" [ -z "$(lab_namespaces)" ]
# shellcheck disable=SC2086
check "down: no lab process left" not alive $pids
check "down: the machine's rules, links and routes are as before" [ "$(host_snapshot)" = "$before" ]
check "down: run folder removed" [ ! -e "$WG_LAB_RUN" ]
check "down twice is harmless" "$LAB" down
lab_done
