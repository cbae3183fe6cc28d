#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/cluster.sh - what --cluster costs: a PUT's latency through Redis,
# and notifications per second when the change comes from another node,
# each against a standalone tern-server in the same run.
#
#   bench/cluster.sh [--quick]
#
# Builds tern-server and tern-bench (RelWithDebInfo, build/compare), starts
# redis-server and three cluster nodes A, B, C plus one standalone node,
# all on 127.0.0.1, then:
# 1. PUT /alarm ON, window 1 and 16, 3 s each: standalone, and node A
#    (every PUT a Lua script in Redis, the 2.04 after its answer);
# 2. fan-out: N observers on the standalone node with the PUT to itself;
#    N on node A with the PUT sent to node C (tern-bench --put-port); N
#    spread over A, B and C (--spread) with the PUT on C. 3 rounds each;
#    notifications per second = N / median time until all had it.
# Prints a table and the ratios. Needs redis-server, cmake, ninja.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DUR=3
SIZES="1000 10000"
[ "${1:-}" = --quick ] && { DUR=1; SIZES="1000"; }
for t in redis-server redis-cli cmake ninja node; do
    command -v "$t" >/dev/null || { echo "cluster.sh: $t is missing" >&2; exit 1; }
done
BUILD=build/compare
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target tern-server tern-bench >/dev/null
S=$BUILD/apps/tern-server
B=$BUILD/apps/tern-bench
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tern-cluster.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    local p
    for _ in $(seq 100); do
        p=$((40000 + RANDOM % 20000))
        grep -qi ":$(printf '%04X' "$p") " /proc/net/udp /proc/net/tcp 2>/dev/null || { echo "$p"; return; }
    done
    exit 1
}
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

declare -A PORT
start() { # NAME [OPTIONS...]
    local n=$1
    shift
    PORT[$n]=$(free_port)
    "$S" -q --workers 1 --bind 127.0.0.1 --port "${PORT[$n]}" --state-dir "$TMP/st-$n" \
        --max-observers 200000 --max-observers-per-address 200000 "$@" >"$TMP/$n.log" 2>&1 &
    PIDS+=($!)
}
for n in a b c; do start "$n" --cluster "redis://127.0.0.1:$RPORT" --node "$n"; done
start solo
sleep 1

js() { node -e "const j=JSON.parse(require('fs').readFileSync(0));console.log($1)"; }

echo "== PUT /alarm ON through Redis: $DUR s per run"
printf '%-12s %6s %12s %10s %10s\n' server window answers/s "p50 us" "p99 us"
declare -A P50
for w in 1 16; do
    for n in solo a; do
        out=$("$B" --json -m PUT -p ON -w "$w" -d "$DUR" "coap://127.0.0.1:${PORT[$n]}/alarm")
        read -r rps p50 p99 < <(echo "$out" | js 'Math.round(j.rps)+" "+j.latency_us.p50+" "+j.latency_us.p99')
        P50[$n/$w]=$p50
        printf '%-12s %6s %12s %10s %10s\n' "$([ "$n" = solo ] && echo standalone || echo "cluster A")" "$w" "$rps" "$p50" "$p99"
    done
done
for w in 1 16; do
    echo "window $w: a PUT through Redis adds $(node -e "console.log((${P50[a/$w]} - ${P50[solo/$w]}).toFixed(1))") us at the median"
done

echo
echo "== fan-out: observers on one node, the PUT on another (3 rounds)"
printf '%-34s %9s %16s %18s\n' setup observers "notify all ms" "notifications/s"
for N in $SIZES; do
    for setup in solo cross three; do
        case $setup in
        solo) args=("coap://127.0.0.1:${PORT[solo]}/alarm"); what="standalone, PUT to itself" ;;
        cross) args=(--put-port "${PORT[c]}" "coap://127.0.0.1:${PORT[a]}/alarm")
               what="cluster: observers on A, PUT on C" ;;
        three) args=(--spread "${PORT[a]},${PORT[b]},${PORT[c]}" --put-port "${PORT[c]}"
                     "coap://127.0.0.1:${PORT[a]}/alarm")
               what="cluster: on A, B and C, PUT on C" ;;
        esac
        out=$("$B" --json --observe "$N" --rounds 3 --timeout 10000 "${args[@]}")
        ms=$(echo "$out" | js 'j.rounds.map(r=>r.all_ms).sort((a,b)=>a-b)[1]')
        printf '%-34s %9s %16s %18s\n' "$what" "$N" "$ms" "$(node -e "console.log(Math.round($N*1000/$ms))")"
    done
done
echo "(machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $(git rev-parse --short HEAD))"
