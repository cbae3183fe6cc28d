#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Interop: the `tern` client and the example clients against libcoap's
# coap-server (RFC 7252 requests and responses, RFC 7641 observe, RFC 6690
# discovery, RFC 7959 Block2 continuation and Block1 PUT), plus the exit
# codes and errors a script relies on. Skips (77) when libcoap is missing,
# unless TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

: "${TERN_EXAMPLES:?TERN_EXAMPLES must point at the examples directory of the build}"
need_libcoap_server
need_built "$T"

start_coap_server "$tmp/server.log"
base="coap://127.0.0.1:$port"

# ---- Block2 (RFC 7959): libcoap's /example_data starts at 1500 bytes -------
expect_rc 0 "GET a 1500-byte body in blocks" -- timeout -k 3 20 "$T" get "$base/example_data"
check "whole body assembled (1500 bytes + newline)" test "$(wc -c <"$tmp/out")" = 1501
expect_rc 0 "observe a 1500-byte resource (RFC 7959 section 2.6)" -- \
  timeout -k 3 20 "$T" observe --count 1 "$base/example_data"
check "notification body fetched whole" test "$(wc -c <"$tmp/out")" = 1501

# ---- Block1 (RFC 7959 section 2.5): a 3000-byte PUT goes in blocks ---------
# 600 lines of 5 bytes; it ends in a newline, so `tern get` adds none.
for i in $(seq 1 600); do printf '%04d\n' "$i"; done >"$tmp/big"
check "3000-byte payload file" test "$(wc -c <"$tmp/big")" = 3000
expect_rc 0 "PUT 3000 bytes from @FILE (Block1)" -- \
  timeout -k 3 20 "$T" -v put "$base/example_data" "@$tmp/big"
check "block 0 carries Block1 0/1/1024 and Size1 3000" \
  grep -q -- "-> .*PUT.*Block1:0/1/1024 Size1:3000" "$tmp/err"
check "the server asked for the next blocks (2.31)" grep -q -- "<- .*2.31 Continue" "$tmp/err"
check "last block 2/0/1024" grep -q -- "-> .*PUT.*Block1:2/0/1024" "$tmp/err"
expect_rc 0 "GET the 3000 bytes back (Block2)" -- timeout -k 3 20 "$T" get "$base/example_data"
check "GET returns exactly the 3000 bytes PUT stored" cmp -s "$tmp/out" "$tmp/big"

# ---- requests (RFC 7252 section 5) ----------------------------------------
expect_rc 0 "GET /time (piggybacked 2.05)" -- timeout -k 3 10 "$T" get "$base/time"
check "GET /time prints the time" grep -Eq '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$tmp/out"
expect_rc 0 "NON GET /time (-N)" -- timeout -k 3 10 "$T" -N get "$base/time"
check "NON GET /time prints the time" grep -Eq '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$tmp/out"
expect_rc 0 "GET with a host name (localhost)" -- timeout -k 3 10 "$T" get "coap://localhost:$port/time"
expect_rc 4 "GET of a missing resource is 4.04" -- timeout -k 3 10 "$T" get "$base/no/such/thing"
check "4.04 is reported on stderr" grep -q "4.04" "$tmp/err"
check "nothing on stdout for 4.04" test ! -s "$tmp/out"
expect_rc 0 "PUT /example_data" -- timeout -k 3 10 "$T" put "$base/example_data" "tern was here"
expect_rc 0 "GET /example_data" -- timeout -k 3 10 "$T" get "$base/example_data"
check "GET returns what PUT stored" grep -qx "tern was here" "$tmp/out"
printf 'from stdin' | timeout -k 3 10 "$T" put -c text "$base/example_data" - >/dev/null 2>&1
expect_rc 0 "GET after PUT from stdin" -- timeout -k 3 10 "$T" get "$base/example_data"
check "payload came from stdin" grep -qx "from stdin" "$tmp/out"
printf 'from a file' >"$tmp/payload"
timeout -k 3 10 "$T" put "$base/example_data" "@$tmp/payload" >/dev/null 2>&1
timeout -k 3 10 "$T" get "$base/example_data" >"$tmp/out" 2>&1
check "payload came from @FILE" grep -qx "from a file" "$tmp/out"
timeout -k 3 10 "$T" put -f "$tmp/payload" "$base/example_data" >/dev/null 2>&1
check "payload from -f FILE" test "$(timeout -k 3 10 "$T" get "$base/example_data")" = "from a file"
expect_rc 0 "-q prints nothing" -- timeout -k 3 10 "$T" -q get "$base/time"
check "-q stdout empty" test ! -s "$tmp/out"
expect_rc 0 "-v traces the wire" -- timeout -k 3 10 "$T" -v get "$base/time"
check "-v shows the CON GET going out" grep -q -- "-> .*CON GET" "$tmp/err"
check "-v shows the ACK coming in" grep -q -- "<- .*ACK 2.05" "$tmp/err"
expect_rc 0 "-O adds an option (Uri-Query by name)" -- timeout -k 3 10 "$T" -v -O Uri-Query,ticks get "$base/time"
check "-O option on the wire" grep -q 'Uri-Query:"ticks"' "$tmp/err"
expect_rc 0 "-A asks for a Content-Format" -- timeout -k 3 10 "$T" -v -A text get "$base/time"
check "-A on the wire" grep -q 'Accept:text/plain' "$tmp/err"

# ---- discovery (RFC 6690) ----------------------------------------------------
expect_rc 0 "discover" -- timeout -k 3 10 "$T" discover "$base"
check "discover lists </time> with obs" grep -q '^</time>;.*obs' "$tmp/out"
check "discover prints one link a line" test "$(grep -c '^<' "$tmp/out")" -ge 3

# ---- observe (RFC 7641) -------------------------------------------------------
expect_rc 0 "observe --count 3 /time" -- timeout -k 3 20 "$T" observe --count 3 "$base/time"
check "three notification lines" test "$(wc -l <"$tmp/out")" = 3
expect_rc 0 "observe --duration 2.5 /time" -- timeout -k 3 20 "$T" observe --duration 2.5 "$base/time"
check "at least two lines in 2.5 s" test "$(wc -l <"$tmp/out")" -ge 2
expect_rc 0 "observe -v shows the deregistration (GET Observe=1)" -- \
  timeout -k 3 20 "$T" -v observe --count 2 "$base/time"
check "deregistration on the wire" grep -q -- "-> .*GET.*Observe:1" "$tmp/err"
expect_rc 0 "observe a resource that is not observable" -- timeout -k 3 10 "$T" observe "$base/"
check "...reported as a plain response" grep -q "did not accept the observation" "$tmp/err"
check "...payload still printed" grep -q "libcoap" "$tmp/out"

# tern observe and the example observer see changes made by tern put and by
# the example PUT client (libcoap notifies its observers within ~2 s).
bg_run -s INT 12 "$T" observe "$base/example_data" >"$tmp/obs_tern" 2>"$tmp/obs_tern.err"
bg_run -s INT 12 "$TERN_EXAMPLES/alarm_observe" "$base/example_data" >"$tmp/obs_ex" 2>&1
sleep 1
timeout -k 3 10 "$T" put "$base/example_data" ON >/dev/null
sleep 3
timeout -k 3 10 "$TERN_EXAMPLES/alarm_put" "$base/example_data" >"$tmp/put_ex" 2>&1
put_ex_rc=$?
sleep 3
timeout -k 3 10 "$T" put "$base/example_data" LAST >/dev/null
both_saw_last() { grep -q LAST "$tmp/obs_tern" && grep -q LAST "$tmp/obs_ex"; }
wait_until 6 both_saw_last
check "alarm_put exits 0" test "$put_ex_rc" = 0
check "alarm_put prints the result code" grep -q "^Result: 2.04 Changed" "$tmp/put_ex"
check "tern observe saw tern put's ON" grep -qx "ON" "$tmp/obs_tern"
check "tern observe saw alarm_put's state" grep -Eqx "ON|OFF" "$tmp/obs_tern"
check "tern observe saw the last change" grep -qx "LAST" "$tmp/obs_tern"
check "alarm_observe printed 'Alarm status: ON'" grep -qx "Alarm status: ON" "$tmp/obs_ex"
check "alarm_observe saw the last change" grep -qx "Alarm status: LAST" "$tmp/obs_ex"

# ---- errors and exit codes ------------------------------------------------------
expect_rc 3 "malformed URI" -- timeout -k 3 10 "$T" get "coap://[::1/x"
expect_rc 3 "unsupported scheme" -- timeout -k 3 10 "$T" get "http://127.0.0.1/"
check "bad URI explained" grep -q "bad URI" "$tmp/err"
expect_rc 2 "unknown command" -- timeout -k 3 10 "$T" fetchall "$base/"
expect_rc 2 "missing URI" -- timeout -k 3 10 "$T" get
expect_rc 2 "bad -O" -- timeout -k 3 10 "$T" -O nonsense get "$base/"
expect_rc 2 "payload file missing" -- timeout -k 3 10 "$T" put "$base/x" @/nonexistent/file
expect_rc 6 "unknown host" -- timeout -k 3 30 "$T" get "coap://no-such-host.invalid/"
check "unknown host explained" grep -q "cannot resolve host" "$tmp/err"
unused_udp_port
dead=$unused_port
start=$(date +%s)
# A closed local port draws an ICMP port unreachable, which ends the request
# at once (client_unreachable.sh checks that in detail); either way exit 8.
expect_rc 8 "no server: timeout or unreachable" -- timeout -k 3 20 "$T" -t 1.5 get "coap://127.0.0.1:$dead/"
check "--timeout honoured (under 5 s)" test $(($(date +%s) - start)) -lt 5
check "no answer explained" grep -Eq "no response|unreachable" "$tmp/err"
expect_rc 0 "--help" -- timeout -k 3 10 "$T" --help
check "--help documents the exit codes" grep -q "4  the server answered 4.xx" "$tmp/out"
