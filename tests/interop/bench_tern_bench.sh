#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench_tern_bench.sh - tern-bench, the load generator (apps/tern-bench),
# does what it says against tern-server and bench/ceiling: GET CON and NON,
# PUT, a separate response (RFC 7252 5.2.2, tern-server --plugtest's
# /separate), an Observe fan-out of 200 observers on 100 sockets (RFC 7641),
# a closed port (exit 1, bounded by the duration), usage errors (exit 2).
# Functional checks only, on 127.0.0.1: no figure is compared with a time
# or a rate. The JSON reports are checked by node/bench_report.js (node
# alone, no node-coap). Exits 77 (skip) when node is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

B="$TERN_BIN/tern-bench"
C="$TERN_BIN/../bench/ceiling"
need_built "$S" "$B"
command -v node >/dev/null || skip "node is not installed (it checks the JSON reports)"

# report LABEL KIND ARGS...: check $tmp/out, a JSON report, with
# node/bench_report.js; count its ok/FAIL lines.
report() {
  local label=$1; shift
  timeout -k 3 20 node "$interop_dir/node/bench_report.js" "$label" "$tmp/out" "$@" >"$tmp/node.out" 2>&1
  local rc=$?
  cat "$tmp/node.out"
  passed=$((passed + $(grep -c '^ok   - ' "$tmp/node.out")))
  failed=$((failed + $(grep -c '^FAIL - ' "$tmp/node.out")))
  [ "$rc" = 0 ] || { [ -s "$tmp/err" ] && indent "$tmp/err"; }
}

# bench WANT_RC LABEL ARGS...: tern-bench ARGS (20 s at most); stdout in
# $tmp/out, stderr in $tmp/err.
bench() {
  local want=$1 label=$2; shift 2
  expect_rc "$want" "$label" -- timeout -k 3 20 "$B" "$@"
}

# ---- tern-server -------------------------------------------------------------
start_tern_server "$tmp/server.log" --state-dir "$tmp/state" --plugtest \
  --max-observers 1000 --max-observers-per-address 1000
url="coap://127.0.0.1:$port"

bench 0 "tern-server: GET CON, window 16, 1 s" -d 1 -w 16 --json "$url/alarm" &&
  report "tern-server GET CON" load 2.05 CON
bench 0 "tern-server: GET NON, window 16 on 2 sockets, 1 s" -N -d 1 -w 16 -s 2 --json "$url/alarm" &&
  report "tern-server GET NON" load 2.05 NON
bench 0 "tern-server: PUT ON, 2000 requests" -m PUT -p ON -n 2000 -w 8 --json "$url/alarm" &&
  report "tern-server PUT" load 2.04 CON 2000
# /separate: an Empty ACK after 1 s, the CON answer after 2 s; 8 at a time.
bench 0 "tern-server: GET /separate, 4 requests" -n 4 -w 4 --json "$url/separate" &&
  report "tern-server separate" load 2.05 CON 4 4
bench 0 "tern-server: 200 observers, 2 per socket, 2 rounds" --observe 200 -t 2 --rounds 2 \
  --server-pid "$(pgrep -P "$server_pid" -x tern-server || echo "$server_pid")" --json "$url/alarm" &&
  report "tern-server observe" observe 200 2 2.04
rss=$(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));
  console.log(j.server_rss && j.server_rss.after_bytes > 0 ? "yes" : "no")' "$tmp/out" 2>/dev/null)
expect_eq "tern-server observe: --server-pid reads the server's VmRSS" yes "$rss"

# The text report: figures on stdout, nothing on stderr (not a terminal:
# no progress line).
text_lines() {
  grep -q ' answers/s$' "$tmp/out" && grep -q '^  latency (us): p50 ' "$tmp/out" &&
    grep -q '^  2.05 Content: [0-9]' "$tmp/out"
}
bench 0 "tern-server: text report" -d 0.5 "$url/alarm"
check "text report: answers/s, latency and 2.05 lines" text_lines || indent "$tmp/out"
check "text report: stderr is empty when it is not a terminal" test ! -s "$tmp/err" || indent "$tmp/err"
stop_bg "$server_pid"

# ---- bench/ceiling -----------------------------------------------------------
if [ -x "$C" ]; then
  show_log_on_failure ceiling "$tmp/ceiling.log"
  bg_run 100 "$C" -p 0 -b 127.0.0.1 -o 1000 >"$tmp/ceiling.log" 2>&1
  ceiling_pid=$bg_pid
  wait_port "$ceiling_pid" "$tmp/ceiling.log" '^listening on ([0-9]+)$' ceiling
  url="coap://127.0.0.1:$port"
  bench 0 "ceiling: GET CON, window 16, 1 s" -d 1 --json "$url/alarm" &&
    report "ceiling GET CON" load 2.05 CON
  bench 0 "ceiling: GET NON, window 64 on 4 sockets, 1 s" -N -d 1 -w 64 -s 4 --json "$url/x" &&
    report "ceiling GET NON" load 2.05 NON
  # --gso: batches of requests as UDP GSO trains (or sendmmsg where the
  # kernel refuses them); the server sees the same datagrams.
  bench 0 "ceiling: GET CON --gso, window 64, 1 s" --gso -d 1 -w 64 --json "$url/x" &&
    report "ceiling GET CON --gso" load 2.05 CON
  bench 0 "ceiling: PUT, 1000 requests" -m PUT -p hello -n 1000 --json "$url/x" &&
    report "ceiling PUT" load 2.04 CON 1000
  bench 0 "ceiling: 200 observers, 2 per socket" --observe 200 -t 2 --json "$url/x" &&
    report "ceiling observe" observe 200 1 2.04
  stop_bg "$ceiling_pid"
else
  note "no $C (bench/ not built): ceiling runs skipped"
fi

# ---- nothing there -------------------------------------------------------------
unused_udp_port
start=$(date +%s%N)
bench 1 "closed port: exit 1" -d 1 --json "coap://127.0.0.1:$unused_port/alarm" &&
  report "closed port" silent
ms=$((($(date +%s%N) - start) / 1000000))
check "closed port: over within the 1 s duration and a little ($ms ms)" test "$ms" -lt 4000

# ---- usage ----------------------------------------------------------------------
bench 2 "usage: --window 0" -w 0 "coap://127.0.0.1:1/x"
bench 2 "usage: --window 4097" -w 4097 "coap://127.0.0.1:1/x"
bench 2 "usage: more sockets than the window" -w 2 -s 3 "coap://127.0.0.1:1/x"
bench 2 "usage: -N with --observe" --observe 10 -N "coap://127.0.0.1:1/x"
bench 2 "usage: coaps:// is not spoken" "coaps://127.0.0.1/x"
bench 2 "usage: no URI" -d 1
# More sockets than any file descriptor limit: refused before opening any.
bench 2 "observe: 10^7 sockets do not fit" --observe 10000000 "coap://127.0.0.1:1/x" &&
  check "observe: the message names the file descriptor limit" \
    grep -q "file descriptor limit" "$tmp/err"
