#!/usr/bin/env bash
# Nicknames through real NATs (issue #18): warpgate-pnpd serves in the lab's wan namespace;
# hb (behind a full cone NAT) runs `warpgate listen --nickname alice --pnp ...`, which
# registers its address at start; ha (behind a port-restricted NAT) looks the name up and
# `warpgate connect alice.p2p --pnp ...` gets its echo, over TCP and UDP. A name nobody
# registered fails with the server's reason.
. "$(dirname "$0")/testlib.sh"
lab_test nickname
need_warpgate
PNPD="$WARPGATE_BIN/warpgate-pnpd"
[ -x "$PNPD" ] || { echo "FAIL: $PNPD is not built (cmake --build the warpgate-pnpd target)"; exit 1; }
PNP_AT=198.51.100.103:5300
work=$(mktemp -d /tmp/wg-nickname.XXXX)
trap 'rc=$?; rm -rf "$work"; (exit $rc); lab_finish' EXIT

"$LAB" up --nat-a port-restricted --nat-b full-cone

cat >"$work/pnpd.json" <<EOF
{"listen": "$PNP_AT", "key_file": "pnpd.key", "store": "sqlite:names.db", "log_level": "debug"}
EOF
key=$("$PNPD" --config "$work/pnpd.json" --print-public-key)
"$LAB" spawn wan pnpd -- "$PNPD" --config "$work/pnpd.json" >/dev/null
for ((i = 0; i < 50; i++)); do
  "$LAB" exec wan -- ss -Hlun "sport = :${PNP_AT##*:}" | grep -q . && break
  sleep 0.1
done
PNP=(--pnp "$PNP_AT=$key")
LISTEN_FLAGS=(--test --mqtt "$MQTT" --stun "$STUN" "${PNP[@]}" --nickname alice)

if ! start_listener; then
  bad "the listener did not start"; tail -n 10 "$work/listen.log"; lab_done
fi

# What ha resolves is what hb registered: its address, NAT facts and all.
looked_up=$("$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" nickname lookup alice.p2p --test "${PNP[@]}" 2>"$work/lookup.err") || true
check "ha looks alice.p2p up: hb's address as hb wrote it" test "$looked_up" = "$(cat "$work/b.addr")"

# connect_by_name NAME TEXT [ARGS...]: `connect NAME` from ha; its JSON in $OUT.
connect_by_name() {
  local name=$1 text=$2; shift 2
  OUT=$("$LAB" exec ha -- env XDG_DATA_HOME="$work/a" "$WG" connect "$name" --test --mqtt "$MQTT" --stun "$STUN" "${PNP[@]}" \
    --port 0 "$@" --json --send "$text" --timeout 10 2>"$work/connect.err") || true
}

for transport in tcp udp; do
  connect_by_name alice.p2p "by name over $transport" --transport "$transport"
  if contains "$OUT" "\"reply\": \"by name over $transport\""; then
    ok "port-restricted x full cone, $transport: connect alice.p2p echoes ($(jq -r .plugin <<<"$OUT"), first echo after $(jq -r '.first_echo_ms | floor' <<<"$OUT") ms)"
  else
    bad "port-restricted x full cone, $transport: connect alice.p2p echoes"
    echo "$OUT" | head -n 30; tail -n 8 "$work/connect.err"; tail -n 8 "$work/listen.log"
  fi
done
check "the listener got both messages" contains "$(cat "$work/listen.log")" "by name over udp"

connect_by_name alice "without the TLD" --transport tcp
check "connect alice (no TLD) echoes too" contains "$OUT" '"reply": "without the TLD"'

connect_by_name bob.p2p "nobody"
check "connect bob.p2p: no link" not contains "$OUT" '"reply"'
check "connect bob.p2p: the error names the missing name ($(tail -n 1 "$work/connect.err"))" contains "$(cat "$work/connect.err")" "bob"

stop_listener
lab_done
