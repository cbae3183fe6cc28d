#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_libcoap.sh - tern-server driven by libcoap's coap-client (a peer
# nobody here wrote): RFC 7252 GET/PUT and error codes, RFC 7641 observe
# (-s) with a notification within a second of another client's PUT,
# RFC 6690 discovery with filtering.
# Exits 77 (skip) when coap-client is missing, unless TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_libcoap_client
need_built "$S"

start_tern_server "$tmp/server.log" --state-dir "$tmp/state" -v
uri="coap://127.0.0.1:$port"

expect_eq "GET /alarm -> OFF" OFF "$(cc -m get "$uri/alarm")"
expect_eq "PUT ON -> 2.04 ON" ON "$(cc -m put -e ON "$uri/alarm")"
expect_eq "GET /alarm -> ON" ON "$(cc -m get "$uri/alarm")"
expect_like "PUT MAYBE -> 4.00 naming ON and OFF" '*4.00*ON*OFF*' "$(cc -m put -e MAYBE "$uri/alarm")"
expect_eq "state unchanged by the bad PUT" ON "$(cc -m get "$uri/alarm")"
expect_like "PUT with Content-Format json -> 4.15" '4.15*' "$(cc -m put -t json -e OFF "$uri/alarm")"
expect_eq "PUT text/plain OFF -> 2.04" OFF "$(cc -m put -t text/plain -e OFF "$uri/alarm")"
expect_like "GET /nothing -> 4.04" '4.04*' "$(cc -m get "$uri/nothing")"
expect_like "DELETE /alarm -> 4.05" '4.05*' "$(cc -m delete "$uri/alarm")"

links='</alarm>;rt="alarm";ct=0;obs'
expect_eq "discovery: $links" "$links" "$(cc -m get "$uri/.well-known/core")"
expect_eq "discovery ?rt=ala*" "$links" "$(cc -m get "$uri/.well-known/core?rt=ala*")"
expect_eq "discovery ?href=/door -> empty" "" "$(cc -m get "$uri/.well-known/core?href=/door")"

# Observe: register for 4 s, unbuffered so the file shows each payload as it
# arrives (coap-client prints them back to back, without newlines).
bg_run 8 stdbuf -o0 "$coap_client" -s 4 "$uri/alarm" >"$tmp/obs.out" 2>&1
obs_pid=$bg_pid
observed() { [ "$(cat "$tmp/obs.out")" = "$1" ]; }
wait_until 2 observed OFF
expect_eq "observer registered, sees OFF" OFF "$(cat "$tmp/obs.out")"
t0=$(date +%s%N)
out=$(cc -m put -e ON "$uri/alarm")
got=""
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ]; do
  [ "$(cat "$tmp/obs.out")" = OFFON ] && { got=1; break; }
  sleep 0.01
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "PUT ON while observed" ON "$out"
check "observer notified of ON within 1 s (${ms} ms after the PUT)" test -n "$got" ||
  echo "    observer got: '$(cat "$tmp/obs.out")'"
wait_bg "$obs_pid"
if grep -q 'Observe:1 ' "$tmp/server.log"; then
  ok "coap-client deregistered (Observe=1) at the end"
else
  note "no deregistration (Observe=1) from coap-client in the log"
fi

check "server logged the change (info: alarm: OFF -> ON from 127.0.0.1:...)" \
  grep -q 'info: alarm: OFF -> ON from 127.0.0.1:' "$tmp/server.log" &&
  note "$(grep -m1 'alarm: OFF -> ON' "$tmp/server.log")"
