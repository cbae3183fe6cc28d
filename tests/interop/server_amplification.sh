#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_amplification.sh - RFC 7252 section 11.3 and RFC 9175 section 2.4
# on every resource tern-server --plugtest serves: a first request from an
# address the server has not verified, whatever its method, gets an answer
# at most 3 times its size (the default --amplification-limit), and prints
# the largest factor seen; with --amplification-limit 2 the bound follows.
# The checks are in node/amplification.js (node's dgram alone).
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$S"
command -v node >/dev/null || skip "node is not installed"

run_node() {  # run_node LABEL LIMIT: run the node checks, count their lines
  timeout -k 3 90 node "$interop_dir/node/amplification.js" "$port" "$2" >"$tmp/node.out" 2>&1
  local rc=$?
  cat "$tmp/node.out"
  passed=$((passed + $(grep -c '^ok   - ' "$tmp/node.out")))
  failed=$((failed + $(grep -c '^FAIL - ' "$tmp/node.out")))
  check "$1: node/amplification.js exits 0 (exit $rc)" test "$rc" = 0
}

start_tern_server "$tmp/server.log" --plugtest --state-dir "$tmp/state"
run_node "default limit 3" 3
stop_bg "$server_pid"

start_tern_server "$tmp/server2.log" --plugtest --state-dir "$tmp/state2" --amplification-limit 2
run_node "limit 2" 2
