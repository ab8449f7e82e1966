#!/usr/bin/env bash
# Self-check: a plain UDP hole punch (each side learns its mapping from the lab's STUN server,
# then both fire at each other) gets through exactly where the NAT behaviours allow it.
. "$(dirname "$0")/testlib.sh"
lab_test punch
"$LAB" up
expect_punch success port-restricted port-restricted
expect_punch success restricted restricted
expect_punch success full-cone symmetric
expect_punch success restricted symmetric
expect_punch success none symmetric
expect_punch fail port-restricted symmetric
expect_punch fail symmetric symmetric
expect_punch fail sequential port-restricted # only port prediction beats it
lab_done
