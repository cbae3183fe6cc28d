#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_icmp_forged.sh - forged ICMP errors against tern-server (RFC 8085
# section 5.2; RFC 7641 section 4.5). A real port unreachable quotes the
# datagram that could not be delivered, and tern-server drops the observer
# it named; anyone who can spoof a source address can send one too, so an
# error that quotes only the IP and UDP headers, or a MID or token the
# server never sent that peer, must leave the observer registered. The
# forged errors come from tests/tools/icmp_forge over a raw socket on
# loopback: root only, a visible skip otherwise. The checks are in
# node/icmp_observer.js.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$S"
forge="${TERN_TEST_TOOLS:-}/icmp_forge"
[ -x "$forge" ] || die "icmp_forge not built ($forge)"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: forging ICMP needs a raw socket (root); not root"
  exit 77
fi
command -v node >/dev/null || skip "node is not installed"

start_tern_server "$tmp/server.log" --state-dir "$tmp/state" --log-level debug
timeout -k 3 60 node "$interop_dir/node/icmp_observer.js" "$port" "$forge" >"$tmp/node.out" 2>&1
rc=$?
cat "$tmp/node.out"
passed=$((passed + $(grep -c '^ok   - ' "$tmp/node.out")))
failed=$((failed + $(grep -c '^FAIL - ' "$tmp/node.out")))
check "node/icmp_observer.js exits 0 (exit $rc)" test "$rc" = 0

# Each error is logged at debug level, with what it quoted and its fate.
n=$(grep -c 'ICMP unreachable .*ignored: it names nothing current of ours' "$tmp/server.log")
expect_eq "the four forgeries logged as ignored" 4 "$n"
check "the error quoting the notification logged as acted on" \
  grep -qE 'ICMP unreachable .*quoting [0-9]+ bytes \((NON|CON) mid=0x[0-9a-f]{4} tok=6f62\): ended' \
  "$tmp/server.log"
