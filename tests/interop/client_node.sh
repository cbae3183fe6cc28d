#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Interop: the `tern` client and the example clients against a node-coap
# alarm server (tests/interop/node/client_alarm_server.js): RFC 7252 GET/PUT
# with piggybacked answers, 4.xx diagnostics, RFC 7641 observe with CON
# notifications. Skips (77) when node or node-coap is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

: "${TERN_EXAMPLES:?TERN_EXAMPLES must point at the examples directory of the build}"
need_node_coap
need_built "$T"

start_node_server "$tmp/server.log" client_alarm_server.js
uri="coap://127.0.0.1:$port/alarm"

expect_rc 0 "GET /alarm" -- timeout -k 3 10 "$T" get "$uri"
check "initial state OFF" grep -qx "OFF" "$tmp/out"
expect_rc 0 "PUT ON" -- timeout -k 3 10 "$T" put "$uri" ON
expect_rc 0 "GET after PUT" -- timeout -k 3 10 "$T" get "$uri"
check "state is ON" grep -qx "ON" "$tmp/out"
expect_rc 4 "PUT of a bad value is 4.00" -- timeout -k 3 10 "$T" put "$uri" MAYBE
check "diagnostic payload shown on stderr" grep -q "4.00.*ON or OFF" "$tmp/err"
expect_rc 4 "GET of another path is 4.04" -- timeout -k 3 10 "$T" get "coap://127.0.0.1:$port/nothing"
expect_rc 4 "DELETE is 4.05" -- timeout -k 3 10 "$T" delete "$uri"
expect_rc 0 "NON GET" -- timeout -k 3 10 "$T" -N get "$uri"
check "NON GET answered" grep -qx "ON" "$tmp/out"

# Observers: tern observe (--count) and the tutorial's observer, while
# tern put and the tutorial's PUT client change the state.
bg_run 20 "$T" observe --count 4 "$uri" >"$tmp/obs_tern" 2>"$tmp/obs_tern.err"
obs_pid=$bg_pid
bg_run -s INT 15 "$TERN_EXAMPLES/alarm_observe" "$uri" >"$tmp/obs_ex" 2>&1
observers_answered() { [ -s "$tmp/obs_tern" ] && [ -s "$tmp/obs_ex" ]; }
wait_until 5 observers_answered
timeout -k 3 10 "$T" put "$uri" OFF >/dev/null
timeout -k 3 10 "$TERN_EXAMPLES/alarm_put" "$uri" >"$tmp/put_ex" 2>&1
put_ex_rc=$?
timeout -k 3 10 "$T" put "$uri" ON >/dev/null
wait_bg "$obs_pid"
obs_rc=$?
four_states() { [ "$(grep -c 'Alarm status' "$tmp/obs_ex")" -ge 4 ]; }
wait_until 3 four_states
check "alarm_put exits 0" test "$put_ex_rc" = 0
check "alarm_put prints 'Result: 2.04 Changed'" grep -q "^Result: 2.04 Changed" "$tmp/put_ex"
check "alarm_put prints the state it set" grep -Eqx "ON|OFF" "$tmp/put_ex"
check "tern observe --count 4 exits 0" test "$obs_rc" = 0
check "tern observe printed 4 lines" test "$(wc -l <"$tmp/obs_tern")" = 4
check "tern observe lines in order: ON, OFF, <random>, ON" \
  test "$(sed -n '1p;2p;4p' "$tmp/obs_tern" | tr '\n' ' ')" = "ON OFF ON "
check "alarm_observe printed 4 states" test "$(grep -c '^Alarm status: \(ON\|OFF\)$' "$tmp/obs_ex")" -ge 4
check "alarm_observe's last line is ON" test "$(grep 'Alarm status' "$tmp/obs_ex" | tail -1)" = "Alarm status: ON"
