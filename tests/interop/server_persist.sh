#!/usr/bin/env bash
# server_persist.sh - an acknowledged PUT survives kill -9: tern-server
# writes the state (temp file, fsync, rename, fsync dir) before it sends
# 2.04. PUT ON, kill -9 at once, restart on the same state directory, GET
# must answer ON. Also resources declared with --resource and in a --config
# file keep their state, and a bad declaration stops the server at start.
# Needs a CoAP client: libcoap's coap-client (exit 77 without it, unless
# TERN_REQUIRE_INTEROP=1).
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
cleanup() {
  [ -n "$srv_pid" ] && kill -9 "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

printf '# resources for the test\n\nresource /window=OPEN,SHUT:SHUT\n' >"$tmp/res.conf"
start() {
  : >"$tmp/server.log"
  "$server" --port 0 --bind 127.0.0.1 --state-dir "$tmp/state" \
    --resource /door=OPEN,CLOSED:CLOSED --config "$tmp/res.conf" 2>"$tmp/server.log" &
  srv_pid=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on coap:\/\/127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$tmp/server.log")
    [ -n "$port" ] && return 0
    kill -0 "$srv_pid" 2>/dev/null || fail "tern-server exited at start"
    sleep 0.05
  done
  fail "tern-server did not report its port"
}
kill9() { kill -9 "$srv_pid"; wait "$srv_pid" 2>/dev/null; srv_pid=""; }
cc() { timeout 10 "$client" "$@" 2>&1; }

start
out=$(cc -m get "coap://127.0.0.1:$port/alarm"); [ "$out" = OFF ] || fail "first GET: '$out'"
out=$(cc -m get "coap://127.0.0.1:$port/door"); [ "$out" = CLOSED ] || fail "first GET /door: '$out'"
out=$(cc -m put -e ON "coap://127.0.0.1:$port/alarm"); [ "$out" = ON ] || fail "PUT ON: '$out'"
kill9
ok "PUT ON acknowledged, then kill -9"

start
out=$(cc -m get "coap://127.0.0.1:$port/alarm"); [ "$out" = ON ] || fail "after restart: '$out'"
ok "after restart GET /alarm -> ON"
out=$(cc -m put -e OPEN "coap://127.0.0.1:$port/door"); [ "$out" = OPEN ] || fail "PUT /door: '$out'"
out=$(cc -m put -e OPEN "coap://127.0.0.1:$port/window"); [ "$out" = OPEN ] || fail "PUT /window: '$out'"
out=$(cc -m put -e OFF "coap://127.0.0.1:$port/alarm"); [ "$out" = OFF ] || fail "PUT OFF: '$out'"
kill9
start
out=$(cc -m get "coap://127.0.0.1:$port/alarm"); [ "$out" = OFF ] || fail "after 2nd restart: '$out'"
out=$(cc -m get "coap://127.0.0.1:$port/door"); [ "$out" = OPEN ] || fail "/door after restart: '$out'"
out=$(cc -m get "coap://127.0.0.1:$port/window"); [ "$out" = OPEN ] || fail "/window after restart: '$out'"
out=$(cc -m get "coap://127.0.0.1:$port/.well-known/core?obs")
[ "$out" = '</alarm>;rt="alarm";ct=0;obs,</door>;rt="door";ct=0;obs,</window>;rt="window";ct=0;obs' ] ||
  fail "discovery of the declared resources: '$out'"
ok "second round: /alarm OFF, /door and /window OPEN survived kill -9; all three discoverable"
ls "$tmp/state" | grep -q '\.tmp$' && fail "a temp file was left behind: $(ls "$tmp/state")"
kill9

# A value list with a typo stops the server at start, with a reason.
if "$server" --port 0 --state-dir "$tmp/state" --resource '/x=A,,B' 2>"$tmp/err.log"; then
  fail "a bad --resource was accepted"
fi
grep -q 'empty value\|values must be' "$tmp/err.log" || fail "no reason given: $(cat "$tmp/err.log")"
ok "bad --resource refused: $(cat "$tmp/err.log")"
printf 'resource /ok=A,B\nresource /bad=A:C\n' >"$tmp/bad.conf"
if "$server" --port 0 --state-dir "$tmp/state" --config "$tmp/bad.conf" 2>"$tmp/err.log"; then
  fail "a bad config file was accepted"
fi
grep -q 'bad.conf:2:' "$tmp/err.log" || fail "no line number: $(cat "$tmp/err.log")"
ok "bad config line refused: $(cat "$tmp/err.log")"
echo "all persistence checks passed"
