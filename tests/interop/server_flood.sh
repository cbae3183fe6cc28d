#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_flood.sh - a flood of spoofed one-way Observe registrations (NON,
# 14 bytes, from 250 loopback addresses that never read) fills tern-server's
# observer table; a real client must still register within seconds and hear
# of a change (RFC 7641 sections 4.1, 4.5: the slots of observers that
# leave a confirmable check unanswered are taken back). The checks are in
# node/flood.js (node's dgram alone).
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$S"
command -v node >/dev/null || skip "node is not installed"

start_tern_server "$tmp/server.log" --state-dir "$tmp/state" --max-observers 256
timeout -k 3 60 node "$interop_dir/node/flood.js" "$port" 250 4 >"$tmp/node.out" 2>&1
rc=$?
cat "$tmp/node.out"
passed=$((passed + $(grep -c '^ok   - ' "$tmp/node.out")))
failed=$((failed + $(grep -c '^FAIL - ' "$tmp/node.out")))
check "node/flood.js exits 0 (exit $rc)" test "$rc" = 0
