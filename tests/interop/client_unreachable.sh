#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Unreachable peers fail fast: a request to a UDP port where nothing listens
# draws an ICMP port unreachable, which Linux puts on the socket's error
# queue (IP_RECVERR / IPV6_RECVERR). `tern` must end the request at once
# with exit 8 ("no answer in time: timeout, or host or port unreachable",
# tern(1)) and say "unreachable", instead of retransmitting until the 30 s
# deadline (RFC 7252 section 4.8.2 MAX_TRANSMIT_WAIT is 93 s by default).
# Needs nothing but this build.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$T"

# A closed port: bind nothing, pick a random high port that no UDP socket
# (IPv4 or IPv6) has.
unused_udp_port
closed=$unused_port
note "closed port: $closed"

# run_unreachable DESCRIPTION URI [tern options...]: exit 8, "unreachable",
# well under the 30 s the request would otherwise wait.
run_unreachable() {
  local what=$1 uri=$2; shift 2
  local start end ms rc
  start=$(date +%s%N)
  timeout -k 3 10 "$T" "$@" get -t 30 "$uri" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  end=$(date +%s%N)
  ms=$(((end - start) / 1000000))
  note "$what: exit $rc after $ms ms"
  check "$what: exit 8" test "$rc" = 8 || indent "$tmp/err"
  check "$what: over in well under 5 s ($ms ms)" test "$ms" -lt 3000
  check "$what: the message names unreachability" grep -q "unreachable" "$tmp/err"
  check "$what: nothing on stdout" test ! -s "$tmp/out"
}

run_unreachable "CON GET to 127.0.0.1" "coap://127.0.0.1:$closed/x"
run_unreachable "NON GET to 127.0.0.1" "coap://127.0.0.1:$closed/x" -N
if grep -q ' lo$' /proc/net/if_inet6 2>/dev/null; then
  run_unreachable "CON GET to [::1]" "coap://[::1]:$closed/x"
else
  echo "skip - no IPv6 loopback"
fi

# Observe ends the same way (the registration is a CON).
start=$(date +%s%N)
timeout -k 3 10 "$T" observe -t 30 "coap://127.0.0.1:$closed/x" >"$tmp/out" 2>"$tmp/err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "observe: exit 8 after $ms ms" test "$rc" = 8 -a "$ms" -lt 3000
check "observe: the message names unreachability" grep -q "unreachable" "$tmp/err"

# The server side: an observer whose port closed is dropped as soon as a
# notification to it draws the ICMP error (RFC 7641 section 4.5: the client
# went away), not after the notification's 93 s of retransmission. With
# --max-observers 1 the dead observer would otherwise keep a newcomer from
# registering (it would be served a plain GET, section 4.1 / 3.2).
if [ -x "$S" ]; then
  mkdir -p "$tmp/state"
  start_tern_server "$tmp/server.log" -d "$tmp/state" --max-observers 1
  uri="coap://127.0.0.1:$port/alarm"
  bg_run 40 "$T" observe -d 30 "$uri" >"$tmp/obs1" 2>&1
  opid=$bg_pid
  wait_until 5 test -s "$tmp/obs1"
  check "first observer registered" grep -qx "OFF" "$tmp/obs1"
  # Gone without a word: no deregistration, its port now closed. The KILL
  # must hit tern itself, not the timeout(1) around it.
  kill_group KILL "$opid"
  timeout -k 3 10 "$T" -q put "$uri" ON
  check "PUT ON after the observer died" test $? = 0
  # The CON notification to the dead port bounced: the slot is free again.
  sleep 0.2
  timeout -k 3 10 "$T" -v observe --count 1 -t 5 "$uri" >"$tmp/obs2" 2>"$tmp/obs2.err"
  check "observer slot freed at once: a new observer is registered" grep -q "Observe:" "$tmp/obs2" ||
    indent "$tmp/obs2" "$tmp/obs2.err"
  stop_bg "$server_pid"
else
  bad "$S not built"
fi
