#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# cluster_redis.sh - three tern-server nodes sharing /alarm through a real
# redis-server on loopback (--cluster): an observer on node A sees within
# 1 s a PUT made on node C, with Observe numbers increasing (RFC 7641
# section 4.4) across changes written by different nodes; Redis unreachable
# at start stops a node with a clear error; Redis lost while running: PUT
# answers 5.03 with Max-Age and changes nothing, GET the last value with
# Max-Age 0, observers are kept, and after reconnection a change made while
# a node could not hear of it reaches that node's observers; a killed node
# disturbs no other, and its observer registers again when its Max-Age runs
# out (RFC 7641 3.3.1), with the node that took over the address; 300 observers spread over the three nodes (tern-bench
# --spread) all hear of a PUT on C; PUTs of different values on two nodes
# at once leave every node, Redis and the observer on the same value; a
# reload that drops the value a state holds puts its new initial value in
# Redis before the node takes it.
# Exits 77 (skip) when redis-server or coap-client is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$S" "$T"
need_libcoap_client
command -v node >/dev/null || skip "node is not installed"
command -v redis-server >/dev/null || skip "redis-server is not installed (Debian: redis-server)"
command -v redis-cli >/dev/null || skip "redis-cli is not installed (Debian: redis-tools)"

start_redis() { # on $rport, no persistence: a restart loses everything
  show_log_on_failure redis-server "$tmp/redis.log"
  bg_run 110 redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
    >>"$tmp/redis.log" 2>&1
  redis_pid=$bg_pid
  wait_until 5 redis-cli -p "$rport" ping
}
rc_() { redis-cli -p "$rport" "$@"; }
unused_udp_port
rport=$unused_port
start_redis
url="redis://127.0.0.1:$rport"

# Redis unreachable at start: no node.
unused_udp_port
"$S" --port 0 --bind 127.0.0.1 --state-dir "$tmp/st-x" --cluster "redis://127.0.0.1:$unused_port" \
  >"$tmp/nostart.log" 2>&1
rc=$?
check "Redis unreachable at start: exit $rc (not 0)" test "$rc" != 0
check "...with a clear error" grep -q 'cannot reach Redis at 127.0.0.1' "$tmp/nostart.log"
indent "$tmp/nostart.log"

declare -A P PID
# Node B's notifications carry Max-Age 3 (--max-age): when B dies, its
# observers notice within seconds and register again (below).
declare -A EXTRA=([a]="" [b]="--max-age 3" [c]="")
for n in a b c; do
  # shellcheck disable=SC2086 # EXTRA holds options, split on purpose
  start_tern_server "$tmp/node-$n.log" --state-dir "$tmp/st-$n" --cluster "$url" --node "$n" \
    ${EXTRA[$n]}
  P[$n]=$port
  PID[$n]=$server_pid
done
u() { echo "coap://127.0.0.1:${P[$1]}/alarm"; }
wait_up() { grep -q 'Redis at .* reachable' "$tmp/node-$1.log"; }
for n in a b c; do wait_until 5 wait_up "$n"; done
expect_eq "node B: GET /alarm -> OFF (the initial value, in Redis)" OFF "$(cc "$(u b)")"

# An observer on A; PUTs on C and on B.
bg_run 20 stdbuf -o0 "$T" observe -i -n 4 "$(u a)" >"$tmp/obs.out" 2>"$tmp/obs.err"
obs_pid=$bg_pid
lines() { [ "$(grep -c . "$tmp/obs.out")" -ge "$1" ]; }
wait_until 3 lines 1
t0=$(date +%s%N)
expect_eq "PUT ON on node C -> 2.04 ON (after Redis took it)" ON "$(cc -m put -e ON "$(u c)")"
wait_until 2 lines 2
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "the observer on node A sees ON" "OFF ON" "$(tr '\n' ' ' <"$tmp/obs.out" | sed 's/ $//')"
check "...within 1 s of the PUT on C (${ms} ms)" test "$ms" -lt 1000
expect_eq "node B: GET -> ON" ON "$(cc "$(u b)")"
expect_eq "Redis holds ON" ON "$(rc_ hget tern:/alarm value)"
expect_eq "PUT OFF on node B" OFF "$(cc -m put -e OFF "$(u b)")"
wait_until 2 lines 3

# Redis lost: node A's connections are killed; while A reconnects (after
# 100 ms), C changes the value: A hears of it from the read-back.
for id in $(rc_ client list | sed -n 's/^id=\([0-9]*\) .* name=tern-a .*/\1/p'); do
  rc_ client kill id "$id" >/dev/null
done
expect_eq "PUT ON on node C while A is cut off" ON "$(cc -m put -e ON "$(u c)")"
wait_until 3 lines 4
wait_bg "$obs_pid"
expect_eq "the observer on A got OFF, then ON after A reconnected" "OFF ON OFF ON" \
  "$(tr '\n' ' ' <"$tmp/obs.out" | sed 's/ $//')"
check "node A logged the loss and the reconnection" \
  bash -c "grep -q 'lost Redis' '$tmp/node-a.log' && test \$(grep -c 'reachable' '$tmp/node-a.log') -ge 2"
obs=$(sed -n 's/.*Observe: *\([0-9]*\).*/\1/p' "$tmp/obs.err" | tr '\n' ' ')
note "Observe numbers the observer on A saw: $obs"
check "Observe numbers increase across changes written by C, B and C (RFC 7641 4.4)" \
  bash -c "prev=-1; for o in $obs; do [ \"\$o\" -gt \"\$prev\" ] || exit 1; prev=\$o; done; [ \$prev -ge 0 ]"

# Redis gone: PUT 5.03 with Max-Age, nothing changes; GET the last value,
# Max-Age 0; the observer stays.
bg_run 30 stdbuf -o0 "$T" observe -n 2 "$(u a)" >"$tmp/obs2.out" 2>&1
obs_pid=$bg_pid
lines2() { [ "$(grep -c . "$tmp/obs2.out")" -ge "$1" ]; }
wait_until 3 lines2 1
rc_ shutdown nosave >/dev/null 2>&1
wait "$redis_pid" 2>/dev/null
down() { grep -q 'lost Redis' "$tmp/node-b.log"; }
wait_until 3 down
out=$("$T" put -i "$(u b)" OFF 2>&1)
expect_like "Redis down: PUT -> 5.03" '*5.03 Service Unavailable*' "$out"
expect_like "...with Max-Age" '*Max-Age: 5*' "$out"
out=$("$T" get -i "$(u a)" 2>&1)
expect_like "Redis down: GET -> the last value" '*ON*' "$out"
expect_like "...with Max-Age 0" '*Max-Age: 0*' "$out"
start_redis
up_again() { [ "$(grep -c 'reachable' "$tmp/node-c.log")" -ge 2 ]; }
wait_until 10 up_again
expect_eq "Redis back (empty): the nodes put ON back" ON "$(rc_ hget tern:/alarm value)"
expect_eq "PUT OFF on C after Redis came back" OFF "$(cc -m put -e OFF "$(u c)")"
wait_until 3 lines2 2
wait_bg "$obs_pid"
expect_eq "the observer on A, kept through the outage, sees OFF" "ON OFF" \
  "$(tr '\n' ' ' <"$tmp/obs2.out" | sed 's/ $//')"

# 300 observers spread over the three nodes (tern-bench --spread), the
# PUT on C: every one is notified, on every node.
out=$(timeout -k 3 30 "$TERN_BIN/tern-bench" --json --observe 300 --rounds 2 \
  --spread "${P[a]},${P[b]},${P[c]}" --put-port "${P[c]}" "$(u a)" 2>"$tmp/tb.err")
expect_eq "tern-bench: 300 observers on A, B and C, 2 PUTs on C: all notified each time" \
  "300 300" "$(echo "$out" | node -e 'const j=JSON.parse(require("fs").readFileSync(0));
    console.log(j.rounds.map(r => r.notified).join(" "))' 2>&1)"
note "$(echo "$out" | node -e 'const j=JSON.parse(require("fs").readFileSync(0));
    console.log("notify-all times across the three nodes: " + j.rounds.map(r => r.all_ms + " ms").join(", "))' 2>&1)"

# A node killed (RFC 7641 section 3.3.1): its observer hears nothing for
# Max-Age (3 s on B) plus the client's margin (2 s) and registers again at
# the same address. Behind anycast or DNS that address leads to another
# node once B is gone: here node D, started on B's port. The observer on A
# is not disturbed.
expect_eq "PUT OFF on C before B is killed" OFF "$(cc -m put -e OFF "$(u c)")"
bg_run 40 stdbuf -o0 "$T" observe -v -n 3 "$(u b)" >"$tmp/obs-b.out" 2>"$tmp/obs-b.err"
obsb_pid=$bg_pid
bg_run 40 stdbuf -o0 "$T" observe -n 3 "$(u a)" >"$tmp/obs-a.out" 2>&1
obsa_pid=$bg_pid
linesf() { [ "$(grep -c . "$1")" -ge "$2" ]; }
wait_until 3 linesf "$tmp/obs-b.out" 1
wait_until 3 linesf "$tmp/obs-a.out" 1
expect_like "the observer on B: registered, Max-Age 3" '*Observe:* Max-Age:3 | OFF' \
  "$(head -1 "$tmp/obs-b.out")"
kill -KILL "$(pgrep -n -P "${PID[b]}" tern-server || echo "${PID[b]}")" 2>/dev/null
wait_bg "${PID[b]}" 2>/dev/null
t0=$(date +%s%N)
start_tern_server "$tmp/node-d.log" --state-dir "$tmp/st-d" --cluster "$url" --node d \
  --port "${P[b]}"
check "node D serves on B's port" test "$port" = "${P[b]}"
expect_eq "node B killed: PUT ON on C" ON "$(cc -m put -e ON "$(u c)")"
expect_eq "...and A has it" ON "$(cc "$(u a)")"
wait_until 3 linesf "$tmp/obs-a.out" 2
wait_until 10 linesf "$tmp/obs-b.out" 2
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_like "B's observer registered again, on D, and has ON" '*| ON' "$(sed -n 2p "$tmp/obs-b.out")"
note "B's observer had the value from D ${ms} ms after B was killed"
check "...within Max-Age 3 s + the client's 2 s margin + 2 s (${ms} ms)" test "$ms" -lt 7000
expect_eq "PUT OFF on C" OFF "$(cc -m put -e OFF "$(u c)")"
wait_bg "$obsb_pid"
wait_bg "$obsa_pid"
expect_like "...reaches B's observer through D" '*| OFF' "$(sed -n 3p "$tmp/obs-b.out")"
expect_eq "the observer on A saw OFF, ON, OFF undisturbed" "OFF ON OFF" \
  "$(tr '\n' ' ' <"$tmp/obs-a.out" | sed 's/ $//')"

# Two PUTs of different values on two nodes at once, twenty times.
bg_run 30 stdbuf -o0 "$T" observe -d 6 "$(u a)" >"$tmp/obs3.out" 2>&1
obs_pid=$bg_pid
sleep 0.3
for i in $(seq 20); do
  "$T" put "$(u a)" ON >/dev/null 2>&1 &
  p1=$!
  "$T" put "$(u c)" OFF >/dev/null 2>&1 &
  wait "$p1" "$!"
done
sleep 0.5
final=$(rc_ hget tern:/alarm value)
expect_eq "after 20 races, node A agrees with Redis" "$final" "$(cc "$(u a)")"
expect_eq "...and node C" "$final" "$(cc "$(u c)")"
wait_bg "$obs_pid"
expect_eq "...and the observer's last notification" "$final" "$(tail -1 "$tmp/obs3.out")"

# A reload on a node (SIGHUP) that drops the value /window holds: its new
# initial value goes to Redis first (the script, like a PUT), and the node
# takes it, with its new values, once Redis has it.
printf 'no-alarm\n/window=OPEN,SHUT:SHUT\n' >"$tmp/e.conf"
start_tern_server "$tmp/node-e.log" --cluster "$url" --node e --config "$tmp/e.conf"
ue="coap://127.0.0.1:$port/window"
expect_eq "node E: GET /window -> SHUT (the initial value, now in Redis)" SHUT "$(cc "$ue")"
expect_eq "...Redis holds SHUT" SHUT "$(rc_ hget tern:/window value)"
printf 'no-alarm\n/window=OPEN,TILTED:TILTED\n' >"$tmp/e.conf"
kill -HUP "$(pgrep -n -P "$server_pid" tern-server || echo "$server_pid")"
reset_logged() { grep -q 'accepted values now OPEN, TILTED; its state SHUT is not among them, so it is now TILTED' "$tmp/node-e.log"; }
wait_until 5 reset_logged
check "node E logged the reset after Redis took TILTED" reset_logged
expect_eq "...Redis holds TILTED" TILTED "$(rc_ hget tern:/window value)"
expect_eq "...GET /window -> TILTED" TILTED "$(cc "$ue")"
out=$(cc -m put -e SHUT "$ue")
expect_like "...PUT SHUT -> 4.00 naming OPEN and TILTED" '*4.00*OPEN, TILTED*' "$out"
