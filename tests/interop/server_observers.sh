#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_observers.sh - tern-server with many observers, each a node-coap
# client on its own socket (RFC 7641): 150 observers under the default
# per-address limit (half of --max-observers 256: 128) all hear of a change within 2 s and end on the newest state; with
# --max-observers 20, registrations beyond 20 are served as a plain GET
# (section 4.1). The checks are in node/server_observers.js.
# Exits 77 (skip) when node or node-coap is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_node_coap
need_built "$S"

run_node() {  # run_node LABEL ARGS...: run the node checks, count their lines
  local label=$1; shift
  timeout -k 3 60 node "$interop_dir/node/server_observers.js" "$@" >"$tmp/node.out" 2>&1
  local rc=$?
  cat "$tmp/node.out"
  passed=$((passed + $(grep -c '^ok   - ' "$tmp/node.out")))
  failed=$((failed + $(grep -c '^FAIL - ' "$tmp/node.out")))
  check "$label: node/server_observers.js exits 0 (exit $rc)" test "$rc" = 0
}

start_tern_server "$tmp/server.log" --state-dir "$tmp/state" --max-observers 256
run_node "150 observers from one address, default per-address limit (half of 256)" "$port" 150 128
stop_bg "$server_pid"

# The defaults (100000 observers, 4096 per address) admit them all.
start_tern_server "$tmp/server0.log" --state-dir "$tmp/state0"
run_node "150 observers from one address, default limits" "$port" 150 4096
stop_bg "$server_pid"

start_tern_server "$tmp/server1.log" --state-dir "$tmp/state1" --max-observers-per-address 256
run_node "150 observers, 256 per address" "$port" 150 256
stop_bg "$server_pid"

start_tern_server "$tmp/server2.log" --state-dir "$tmp/state2" --max-observers 20 \
  --max-observers-per-address 20
run_node "30 observers, limit 20" "$port" 30 20
