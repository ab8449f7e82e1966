#!/usr/bin/env bash
# Self-check: the servers in wan answer hosts behind NATs at their documented addresses:
# STUN (both addresses and ports), TURN (relay through a symmetric NAT, auth enforced),
# MQTT and NTP.
. "$(dirname "$0")/testlib.sh"
lab_test servers
"$LAB" up --nat-a symmetric --nat-b port-restricted

out=$("$LAB" exec hb -- "$PUNCH" map 198.51.100.100:3478 198.51.100.101:3478 198.51.100.100:3479 198.51.100.101:3479 2>&1 || true)
check "STUN answers on all four address:port pairs" contains "$(grep -c ' 203.0.113.2:' <<<"$out")" "^4$"

# TURN: an echo peer in wan, a client in ha behind the symmetric NAT.
"$LAB" spawn wan turn-peer -- turnutils_peer -L 198.51.100.103 -p 3480 >/dev/null
for ((i = 0; i < 50; i++)); do
  "$LAB" exec wan -- ss -Hlnu "sport = :3480" | grep -q . && break
  sleep 0.1
done
turn() { "$LAB" exec ha -- timeout 20 turnutils_uclient -u test -w "$1" -e 198.51.100.103 -r 3480 -n 5 -m 1 -X 198.51.100.100 2>&1 || true; }
out=$(turn test)
# uclient's summary counts both of its channels (RTP-like and RTCP-like): 2 x 5 messages.
check "TURN: 10 messages relayed to the peer and back" contains "$out" "tot_send_msgs=10, tot_recv_msgs=10$"
check "TURN: no loss through the relay" contains "$out" "Total lost packets 0 "
out=$(turn wrong)
check "TURN: a wrong password gets no relay" not contains "$out" "tot_recv_msgs=[1-9]"

# MQTT: a retained message from ha is read by hb.
"$LAB" exec ha -- mosquitto_pub -h 198.51.100.100 -p 1883 -t lab/check -m "hello-$$" -r
out=$("$LAB" exec hb -- mosquitto_sub -h 198.51.100.100 -p 1883 -t lab/check -C 1 -W 5 2>&1 || true)
check "MQTT: hb reads what ha published" [ "$out" = "hello-$$" ]

# NTP: chronyd -Q measures the offset without touching the clock.
ntp() { "$LAB" exec "$1" -- chronyd -Q -t 4 -f /dev/null -u root "server $2 iburst maxsamples 1" "pidfile $WG_LAB_RUN/q.pid" 2>&1 || true; }
check "NTP: ha gets time from 198.51.100.100" contains "$(ntp ha 198.51.100.100)" "System clock wrong by"
check "NTP: hb gets time from 198.51.100.100" contains "$(ntp hb 198.51.100.100)" "System clock wrong by"
check "NTP: nothing answers on 198.51.100.101 (the check can fail)" not contains "$(ntp ha 198.51.100.101)" "System clock wrong by"
lab_done
