#!/usr/bin/env bash
# server_node.sh - tern-server driven by node-coap (npm package coap):
# RFC 7252 PUT/GET and 4.00, RFC 7641 observe with two observers at once,
# each notified within a second of a PUT. The checks are in
# node/server_alarm.js.
# Exits 77 (skip) when node or node-coap is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; [ "${TERN_REQUIRE_INTEROP:-0}" = 1 ] && exit 1; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$tmp/server.log" ] && { echo "--- server log"; tail -40 "$tmp/server.log"; }; exit 1; }

command -v node >/dev/null || skip "no node"
[ -d "$here/node/node_modules/coap" ] || skip "node-coap not installed (scripts/install-deps --test)"
server="${TERN_BIN:?TERN_BIN must point at the built apps}/tern-server"
[ -x "$server" ] || fail "$server not built"

tmp=$(mktemp -d)
srv_pid=""
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

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

(cd "$here/node" && timeout 60 node server_alarm.js "$port") || fail "node-coap checks"
