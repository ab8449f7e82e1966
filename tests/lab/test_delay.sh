#!/usr/bin/env bash
# Self-check: delay on a side's WAN link (lab_delay_bridge, since this kernel has no netem).
# Asserts only what the bridge guarantees whatever the machine's load: nothing comes back
# sooner than the delay, and everything still gets through, UDP and TCP alike.
. "$(dirname "$0")/testlib.sh"
lab_test delay
"$LAB" up --delay-a 300/50 # 250-350 ms each way

answered() { "$LAB" exec "$1" -- "$PUNCH" probe "$STUN" "$2" | awk '{print $2}'; }
check "no STUN answer within 50 ms across a 250+ ms link" [ "$(answered ha 5)" = 0 ]
check "the undelayed side answers within 50 ms" not [ "$(answered hb 5)" = 0 ]
check "STUN with retransmissions gets through the delayed link" contains "$("$LAB" exec ha -- "$PUNCH" map "$STUN")" " 198.51.100.2:"

# TCP: 1 MB from ha to wan arrives intact (the bridge passes whole, checksummed frames).
"$LAB" exec wan -- timeout 20 socat -u TCP-LISTEN:5001,bind=198.51.100.104,reuseaddr "OPEN:$WG_LAB_RUN/recv.bin,creat,trunc" &
listener=$!
head -c 1000000 /dev/urandom >"$WG_LAB_RUN/send.bin"
for ((i = 0; i < 50; i++)); do
  "$LAB" exec ha -- socat -u "OPEN:$WG_LAB_RUN/send.bin" TCP:198.51.100.104:5001 2>/dev/null && break
  sleep 0.1
done
wait "$listener" || true
check "1 MB over TCP through the delayed link arrives intact" cmp -s "$WG_LAB_RUN/send.bin" "$WG_LAB_RUN/recv.bin"
lab_done
