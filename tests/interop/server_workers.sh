#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_workers.sh - tern-server --workers 2: two processes with a socket
# each on one port (SO_REUSEPORT), the kernel sending each client to one of
# them. Observers on both hear of every change, whichever worker took the
# PUT; a GET from any client sees the last state; each change is written
# once; a SIGHUP reload reaches both; SIGTERM stops both.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$T" "$S"

printf 'max-observers 1000\n' >"$tmp/server.conf"
start_tern_server "$tmp/server.log" --workers 2 --state-dir "$tmp/state" --config "$tmp/server.conf"
uri="coap://127.0.0.1:$port/alarm"
wait_until 5 grep -q "2 workers" "$tmp/server.log"
# The processes: the first worker is timeout(1)'s child, the second its.
workers() { pgrep -f "^$S .*--state-dir $tmp/state"; }
first=$(pgrep -P "$server_pid")
expect_eq "two tern-server processes" 2 "$(workers | wc -l)"
expect_eq "... the second started by the first" "$first" "$(ps -o ppid= -p "$(pgrep -P "$first")" | tr -d ' ')"

# Twelve observers, each its own socket: both workers hold some (with 12
# the chance that all land on one is 1 in 2048).
obs=()
for i in $(seq 1 12); do
  bg_run 20 "$T" observe --count 3 "$uri" >"$tmp/obs$i.out" 2>"$tmp/obs$i.err"
  obs+=("$bg_pid")
done
all_registered() { for i in $(seq 1 12); do [ -s "$tmp/obs$i.out" ] || return 1; done; }
wait_until 5 all_registered
expect_rc 0 "PUT ON (one client)" -- timeout -k 3 10 "$T" -q put "$uri" ON
sleep 0.3
expect_rc 0 "PUT OFF (another client)" -- timeout -k 3 10 "$T" -q put "$uri" OFF
for p in "${obs[@]}"; do wait_bg "$p"; done
heard=0
for i in $(seq 1 12); do [ "$(tr '\n' ' ' <"$tmp/obs$i.out")" = "OFF ON OFF " ] && heard=$((heard + 1)); done
expect_eq "every observer heard OFF, ON, OFF" 12 "$heard"
got=""
for i in $(seq 1 10); do got+="$(timeout -k 3 10 "$T" get "$uri") "; done
expect_eq "ten GETs from ten clients: OFF" "OFF OFF OFF OFF OFF OFF OFF OFF OFF OFF " "$got"
expect_eq "the state file: OFF" OFF "$(cat "$tmp/state/alarm.state")"
expect_eq "each change written once (two log lines)" 2 "$(grep -c 'alarm: O[NF]* -> ' "$tmp/server.log")"

# A reload adds /door on both workers.
printf 'max-observers 1000\nresource /door=OPEN,CLOSED:CLOSED\n' >"$tmp/server.conf"
kill -HUP "$first" # as systemd does: the first passes it on
wait_until 5 test "$(grep -c 'reload done' "$tmp/server.log")" -ge 2
got=""
for i in $(seq 1 10); do got+="$(timeout -k 3 10 "$T" get "coap://127.0.0.1:$port/door") "; done
expect_eq "after the reload, /door from ten clients" \
  "CLOSED CLOSED CLOSED CLOSED CLOSED CLOSED CLOSED CLOSED CLOSED CLOSED " "$got"

stop_bg "$server_pid"
wait_until 5 test "$(workers | wc -l)" = 0
expect_eq "SIGTERM stops both workers" 0 "$(workers | wc -l)"
