#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_notify.sh - tern-server --notify (RFC 7641 section 4.5): by default
# a state change reaches an observer as a confirmable notification; with
# --notify non as a non-confirmable one. Seen in tern -v's trace.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$T" "$S"

# notified MODE...: the type of the notification of a change, as tern -v
# shows it.
notified() {
  start_tern_server "$tmp/server.log" --state-dir "$tmp/state-$1" "${@:2}"
  local uri="coap://127.0.0.1:$port/alarm"
  bg_run 20 "$T" -v observe --count 2 "$uri" >"$tmp/obs.out" 2>"$tmp/obs.err"
  local obs=$bg_pid
  wait_until 5 test -s "$tmp/obs.out"
  timeout -k 3 10 "$T" -q put "$uri" ON
  wait_bg "$obs"
  stop_bg "$server_pid"
  sed -nE 's/^<- [0-9:.]+ [^ ]+ (CON|NON) 2\.05 .*Observe:.*"ON".*/\1/p' "$tmp/obs.err" | head -1
}

expect_eq "default: the change comes confirmable" CON "$(notified con)"
expect_eq "--notify non: the change comes non-confirmable" NON "$(notified non --notify non)"
expect_eq "--notify con: confirmable" CON "$(notified con2 --notify con)"
