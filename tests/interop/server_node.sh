#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_node.sh - tern-server driven by node-coap (npm package coap):
# RFC 7252 PUT/GET and 4.00, RFC 7641 observe with two observers at once,
# each notified within a second of a PUT. The checks are in
# node/server_alarm.js.
# Exits 77 (skip) when node or node-coap is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_node_coap
need_built "$S"

start_tern_server "$tmp/server.log" --state-dir "$tmp/state" -v

# server_alarm.js prints "ok   - ..." / "FAIL - ..." lines itself; count
# them here too, so that the summary line covers its checks.
timeout -k 3 60 node "$interop_dir/node/server_alarm.js" "$port" >"$tmp/node.out" 2>&1
rc=$?
cat "$tmp/node.out"
passed=$((passed + $(grep -c '^ok   - ' "$tmp/node.out")))
failed=$((failed + $(grep -c '^FAIL - ' "$tmp/node.out")))
check "node/server_alarm.js exits 0 (exit $rc)" test "$rc" = 0
