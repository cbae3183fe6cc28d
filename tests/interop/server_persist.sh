#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_persist.sh - an acknowledged PUT survives kill -9: tern-server
# writes the state (temp file, fsync, rename, fsync dir) before it sends
# 2.04. PUT ON, kill -9 at once, restart on the same state directory, GET
# must answer ON. Also resources declared with --resource and in a --config
# file keep their state, and a bad declaration stops the server at start.
# Needs a CoAP client: libcoap's coap-client (exit 77 without it, unless
# TERN_REQUIRE_INTEROP=1).
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_libcoap_client
need_built "$S"

printf '# resources for the test\n\nresource /window=OPEN,SHUT:SHUT\n' >"$tmp/res.conf"
start() {
  start_tern_server "$tmp/server.log" --state-dir "$tmp/state" \
    --resource /door=OPEN,CLOSED:CLOSED --config "$tmp/res.conf"
  uri="coap://127.0.0.1:$port"
}
# kill -9 tern-server (its whole timeout(1) group): no chance to clean up.
kill9() { kill_group KILL "$server_pid"; }
# store.c writes NAME.tmp, then renames it: none may be left, hidden or not.
no_temp_files() {
  ! compgen -G "$tmp/state/*.tmp" >/dev/null && ! compgen -G "$tmp/state/.*.tmp" >/dev/null
}

start
expect_eq "first GET /alarm -> OFF" OFF "$(cc -m get "$uri/alarm")"
expect_eq "first GET /door -> CLOSED" CLOSED "$(cc -m get "$uri/door")"
expect_eq "PUT ON -> 2.04 ON" ON "$(cc -m put -e ON "$uri/alarm")"
kill9
note "PUT ON acknowledged, then kill -9"

start
expect_eq "after restart GET /alarm -> ON" ON "$(cc -m get "$uri/alarm")"
expect_eq "PUT /door OPEN" OPEN "$(cc -m put -e OPEN "$uri/door")"
expect_eq "PUT /window OPEN" OPEN "$(cc -m put -e OPEN "$uri/window")"
expect_eq "PUT /alarm OFF" OFF "$(cc -m put -e OFF "$uri/alarm")"
kill9
start
expect_eq "after 2nd kill -9 and restart: /alarm OFF" OFF "$(cc -m get "$uri/alarm")"
expect_eq "after 2nd kill -9 and restart: /door OPEN" OPEN "$(cc -m get "$uri/door")"
expect_eq "after 2nd kill -9 and restart: /window OPEN" OPEN "$(cc -m get "$uri/window")"
expect_eq "all three discoverable" \
  '</alarm>;rt="alarm";ct=0;obs,</door>;rt="door";ct=0;obs,</window>;rt="window";ct=0;obs' \
  "$(cc -m get "$uri/.well-known/core?obs")"
check "no temp file left behind" no_temp_files || find "$tmp/state" | indent
kill9

# A value list with a typo stops the server at start, with a reason: an exit
# status from tern-server itself (1-123), not from the timeout (124, 137) or
# a signal.
timeout -k 3 10 "$S" --port 0 --state-dir "$tmp/state" --resource '/x=A,,B' 2>"$tmp/err.log"
rc=$?
check "bad --resource refused at start (exit $rc)" test "$rc" -ge 1 -a "$rc" -le 123
check "...with a reason: $(cat "$tmp/err.log")" grep -q 'empty value\|values must be' "$tmp/err.log"
printf 'resource /ok=A,B\nresource /bad=A:C\n' >"$tmp/bad.conf"
timeout -k 3 10 "$S" --port 0 --state-dir "$tmp/state" --config "$tmp/bad.conf" 2>"$tmp/err.log"
rc=$?
check "bad config line refused at start (exit $rc)" test "$rc" -ge 1 -a "$rc" -le 123
check "...with its line number: $(cat "$tmp/err.log")" grep -q 'bad.conf:2:' "$tmp/err.log"
