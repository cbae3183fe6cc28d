#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# example_alarm_server.sh - examples/alarm_server, the tutorial's server on
# the library's state resource (tern/state.h) and its file backend, against
# libcoap's coap-client: GET and PUT (RFC 7252 5.8.1, 5.8.3), a value that
# is not ON or OFF refused with 4.00 naming them and nothing changed (5.5.2),
# an observer told of each change (RFC 7641 4.2), discovery (RFC 6690), and
# the state kept across a restart (the tutorial lost it). Exits 77 (skip)
# when coap-client is missing, unless TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

: "${TERN_EXAMPLES:?TERN_EXAMPLES must point at the examples directory of the build}"
need_built "$TERN_EXAMPLES/alarm_server"
need_libcoap_client

start_example() {
  show_log_on_failure alarm_server "$tmp/ex.log"
  unused_udp_port
  bg_run 60 "$TERN_EXAMPLES/alarm_server" "$unused_port" "$tmp/state" >"$tmp/ex.log" 2>&1
  ex_pid=$bg_pid
  port=$unused_port
  wait_until 5 grep -q 'alarm server on' "$tmp/ex.log" || die "alarm_server did not start"
}
start_example
uri="coap://127.0.0.1:$port/alarm"

expect_eq "GET /alarm -> OFF (the initial value)" OFF "$(cc "$uri")"
# coap-client prints each payload as it comes, with nothing in between.
bg_run 20 stdbuf -o0 "$coap_client" -s 10 "$uri" >"$tmp/obs.out" 2>&1
obs_pid=$bg_pid
observed() { [ "$(cat "$tmp/obs.out")" = "$1" ]; }
wait_until 3 observed OFF
expect_eq "PUT ON -> 2.04 ON" ON "$(cc -m put -e ON "$uri")"
expect_like "PUT MAYBE -> 4.00 naming ON and OFF" '*4.00*OFF, ON*' "$(cc -m put -e MAYBE "$uri")"
expect_eq "...and nothing changed" ON "$(cc "$uri")"
expect_eq "PUT OFF -> 2.04 OFF" OFF "$(cc -m put -e OFF "$uri")"
wait_until 3 observed OFFONOFF
stop_bg "$obs_pid"
expect_eq "the observer (libcoap) saw OFF, ON, OFF" OFFONOFF "$(cat "$tmp/obs.out")"
expect_like "discovery lists /alarm with rt and ct" '*</alarm>*rt="alarm"*ct=0*' \
  "$(cc "coap://127.0.0.1:$port/.well-known/core")"
check "it printed each change with its sender" \
  grep -q '^alarm: OFF -> ON from 127.0.0.1:' "$tmp/ex.log"

expect_eq "PUT ON before a restart" ON "$(cc -m put -e ON "$uri")"
stop_bg "$ex_pid" INT
start_example
expect_eq "after the restart: GET -> ON (kept in $tmp/state)" ON "$(cc "coap://127.0.0.1:$port/alarm")"
check "the state file holds ON" grep -qx ON "$tmp/state/alarm.state"
stop_bg "$ex_pid" INT
