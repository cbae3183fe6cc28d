#!/usr/bin/env bash
# server_libcoap.sh - tern-server driven by libcoap's coap-client (a peer
# nobody here wrote): RFC 7252 GET/PUT and error codes, RFC 7641 observe
# (-s) with a notification within a second of another client's PUT,
# RFC 6690 discovery with filtering.
# Exits 77 (skip) when coap-client is missing, unless TERN_REQUIRE_INTEROP=1.
set -uo pipefail

skip() { echo "SKIP: $*"; [ "${TERN_REQUIRE_INTEROP:-0}" = 1 ] && exit 1; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$tmp/server.log" ] && { echo "--- server log"; tail -40 "$tmp/server.log"; }; exit 1; }
ok() { echo "ok   $*"; }

client=""
for c in coap-client-notls coap-client-openssl coap-client-gnutls; do
  command -v "$c" >/dev/null && { client=$c; break; }
done
[ -n "$client" ] || skip "no libcoap coap-client (Debian package libcoap3-bin)"
server="${TERN_BIN:?TERN_BIN must point at the built apps}/tern-server"
[ -x "$server" ] || fail "$server not built"

tmp=$(mktemp -d)
srv_pid=""
obs_pid=""
cleanup() {
  [ -n "$obs_pid" ] && kill "$obs_pid" 2>/dev/null
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# Port 0: the kernel picks a free port and tern-server logs it.
"$server" --port 0 --bind 127.0.0.1 --state-dir "$tmp/state" -v 2>"$tmp/server.log" &
srv_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on coap:\/\/127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$tmp/server.log")
  [ -n "$port" ] && break
  kill -0 "$srv_pid" 2>/dev/null || fail "tern-server exited at start"
  sleep 0.05
done
[ -n "$port" ] || fail "tern-server did not report its port"
uri="coap://127.0.0.1:$port"

cc() { timeout 10 "$client" "$@" 2>&1; }

out=$(cc -m get "$uri/alarm");              [ "$out" = OFF ] || fail "GET at first: '$out'"; ok "GET /alarm -> OFF"
out=$(cc -m put -e ON "$uri/alarm");        [ "$out" = ON ] || fail "PUT ON: '$out'"; ok "PUT ON -> 2.04 ON"
out=$(cc -m get "$uri/alarm");              [ "$out" = ON ] || fail "GET after PUT: '$out'"; ok "GET /alarm -> ON"
out=$(cc -m put -e MAYBE "$uri/alarm")
case "$out" in *4.00*ON*OFF*) ok "PUT MAYBE -> $out";; *) fail "PUT MAYBE: '$out'";; esac
out=$(cc -m get "$uri/alarm");              [ "$out" = ON ] || fail "state changed by a bad PUT: '$out'"; ok "state unchanged"
out=$(cc -m put -t json -e OFF "$uri/alarm")
case "$out" in 4.15*) ok "PUT with Content-Format json -> 4.15";; *) fail "PUT json: '$out'";; esac
out=$(cc -m put -t text/plain -e OFF "$uri/alarm"); [ "$out" = OFF ] || fail "PUT text/plain: '$out'"; ok "PUT text/plain OFF -> 2.04"
out=$(cc -m get "$uri/nothing")
case "$out" in 4.04*) ok "GET /nothing -> 4.04";; *) fail "GET /nothing: '$out'";; esac
out=$(cc -m delete "$uri/alarm")
case "$out" in 4.05*) ok "DELETE /alarm -> 4.05";; *) fail "DELETE: '$out'";; esac

out=$(cc -m get "$uri/.well-known/core")
[ "$out" = '</alarm>;rt="alarm";ct=0;obs' ] || fail "discovery: '$out'"; ok "discovery: $out"
out=$(cc -m get "$uri/.well-known/core?rt=ala*")
[ "$out" = '</alarm>;rt="alarm";ct=0;obs' ] || fail "discovery ?rt=ala*: '$out'"; ok "discovery ?rt=ala*"
out=$(cc -m get "$uri/.well-known/core?href=/door")
[ -z "$out" ] || fail "discovery ?href=/door: '$out'"; ok "discovery ?href=/door -> empty"

# Observe: register for 4 s, unbuffered so the file shows each payload as it
# arrives (coap-client prints them back to back, without newlines).
timeout 8 stdbuf -o0 "$client" -s 4 "$uri/alarm" >"$tmp/obs.out" 2>&1 &
obs_pid=$!
for _ in $(seq 100); do [ "$(cat "$tmp/obs.out")" = OFF ] && break; sleep 0.02; done
[ "$(cat "$tmp/obs.out")" = OFF ] || fail "observe: first answer '$(cat "$tmp/obs.out")'"
ok "observer registered, sees OFF"
t0=$(date +%s%N)
out=$(cc -m put -e ON "$uri/alarm"); [ "$out" = ON ] || fail "PUT ON while observed: '$out'"
got=""
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ]; do
  [ "$(cat "$tmp/obs.out")" = OFFON ] && { got=1; break; }
  sleep 0.01
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -n "$got" ] || fail "observer did not see ON within 1 s: '$(cat "$tmp/obs.out")'"
ok "observer notified of ON ${ms} ms after the PUT"
wait "$obs_pid"; obs_pid=""
grep -q 'Observe:1 ' "$tmp/server.log" && ok "coap-client deregistered (Observe=1) at the end"

grep -q 'info: alarm: OFF -> ON from 127.0.0.1:' "$tmp/server.log" || fail "no change log line"
ok "server logged: $(grep -m1 'alarm: OFF -> ON' "$tmp/server.log")"
echo "all libcoap checks passed"
