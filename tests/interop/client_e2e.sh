#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# End to end: the `tern` client and the example clients against tern-server
# (RFC 7252 GET/PUT, RFC 7641 observe and deregistration, RFC 6690
# discovery), and libcoap's coap-client changing state that `tern observe`
# must see. tern-server is part of this build, so it is required; only the
# libcoap part skips when coap-client is missing (unless
# TERN_REQUIRE_INTEROP=1, where it fails).
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

: "${TERN_EXAMPLES:?TERN_EXAMPLES must point at the examples directory of the build}"
need_built "$T" "$S" "$TERN_EXAMPLES/alarm_put" "$TERN_EXAMPLES/alarm_observe"

mkdir -p "$tmp/state"
start_tern_server "$tmp/server.log" -d "$tmp/state"
uri="coap://127.0.0.1:$port/alarm"

expect_rc 0 "GET /alarm" -- timeout -k 3 10 "$T" get "$uri"
check "starts OFF" grep -qx "OFF" "$tmp/out"
expect_rc 0 "PUT ON" -- timeout -k 3 10 "$T" put "$uri" ON
expect_rc 0 "GET after PUT" -- timeout -k 3 10 "$T" get "$uri"
check "now ON" grep -qx "ON" "$tmp/out"
expect_rc 4 "PUT of a bad value is 4.00" -- timeout -k 3 10 "$T" put "$uri" PERHAPS
check "4.00 with a diagnostic" grep -q "4.00" "$tmp/err"
expect_rc 0 "GET: the bad PUT changed nothing" -- timeout -k 3 10 "$T" get "$uri"
check "still ON" grep -qx "ON" "$tmp/out"
expect_rc 4 "GET of a missing resource is 4.04" -- timeout -k 3 10 "$T" get "coap://127.0.0.1:$port/none"
expect_rc 0 "NON PUT OFF" -- timeout -k 3 10 "$T" -N put "$uri" OFF
expect_rc 0 "discover" -- timeout -k 3 10 "$T" discover "coap://127.0.0.1:$port"
check "discovery lists </alarm> as observable" grep -q '^</alarm>.*obs' "$tmp/out"

# Observe, changes from tern put, from the example PUT client and (if
# installed) libcoap's coap-client.
bg_run -s INT 40 "$T" observe "$uri" >"$tmp/obs_tern" 2>"$tmp/obs_tern.err"
obs_pid=$bg_pid
bg_run -s INT 40 "$TERN_EXAMPLES/alarm_observe" "$uri" >"$tmp/obs_ex" 2>&1
observers_answered() { [ -s "$tmp/obs_tern" ] && [ -s "$tmp/obs_ex" ]; }
wait_until 5 observers_answered
check "observe starts with the current state OFF" grep -qx "OFF" "$tmp/obs_tern"
timeout -k 3 10 "$T" put "$uri" ON >/dev/null
timeout -k 3 10 "$TERN_EXAMPLES/alarm_put" "$uri" >"$tmp/put_ex" 2>&1
put_ex_rc=$?
timeout -k 3 10 "$T" put "$uri" OFF >/dev/null
expected="OFF ON $(grep -Ex 'ON|OFF' "$tmp/put_ex") OFF"

if coap_client=$(find_libcoap client); then
  cc -m put -e ON "$uri" >/dev/null
  check "coap-client PUT ON accepted" test $? = 0
  expected="$expected ON"
else
  peer_missing "libcoap's coap-client is not installed: no third-party PUT"
fi
# tern-server notifies on a change of state: a PUT of the value it already
# has sends nothing, so repeated values collapse.
expected=$(echo "$expected" | tr ' ' '\n' | uniq | tr '\n' ' ' | sed 's/ $//')
n=$(echo "$expected" | wc -w)
all_notified() { [ "$(wc -l <"$tmp/obs_tern")" -ge "$n" ] && [ "$(grep -c 'Alarm status' "$tmp/obs_ex")" -ge "$n" ]; }
wait_until 5 all_notified
check "alarm_put exits 0 and prints 2.04" sh -c "test $put_ex_rc = 0 && grep -q '^Result: 2.04 Changed' '$tmp/put_ex'"
check "tern observe saw every change in order ($expected)" test "$(tr '\n' ' ' <"$tmp/obs_tern")" = "$expected " ||
  sed 's/^/    got: /' "$tmp/obs_tern"
check "alarm_observe saw every change in order" \
  test "$(sed -n 's/^Alarm status: //p' "$tmp/obs_ex" | tr '\n' ' ')" = "$expected "

# Ctrl-C: tern observe deregisters (GET Observe=1) and exits 0.
stop_bg "$obs_pid" INT
check "tern observe exits 0 on Ctrl-C" test $? = 0
bg_run 20 "$T" -v observe --count 2 "$uri" >"$tmp/out" 2>"$tmp/err"
obs_pid=$bg_pid
wait_until 5 test -s "$tmp/out"
last=$(echo "$expected" | awk '{print $NF}')
[ "$last" = ON ] && next=OFF || next=ON
timeout -k 3 10 "$T" put "$uri" "$next" >/dev/null
wait_bg "$obs_pid"
check "observe --count 2 exits 0" test $? = 0
check "...with two lines" test "$(wc -l <"$tmp/out")" = 2
check "...and a GET Observe=1 on the wire" grep -q -- "-> .*GET.*Observe:1" "$tmp/err"
