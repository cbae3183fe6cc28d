#!/usr/bin/env bash
# Interop: the `tern` client and the example clients against a node-coap
# alarm server (tests/interop/node/client_alarm_server.js): RFC 7252 GET/PUT
# with piggybacked answers, 4.xx diagnostics, RFC 7641 observe with CON
# notifications. Skips (77) when node or node-coap is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail

: "${TERN_BIN:?TERN_BIN must point at the build's apps directory}"
: "${TERN_EXAMPLES:?TERN_EXAMPLES must point at the build's examples directory}"
T="$TERN_BIN/tern"
here=$(cd "$(dirname "$0")" && pwd)

skip() {
  if [ "${TERN_REQUIRE_INTEROP:-0}" = 1 ]; then echo "FAIL: $*" >&2; exit 1; fi
  echo "SKIP: $*" >&2; exit 77
}
fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*" >&2; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; return 1; fi; }
expect_rc() {  # expect_rc WANT DESCRIPTION -- command...
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" = "$want" ]; then ok "$what (exit $rc)"; else
    bad "$what: exit $rc, want $want"; sed 's/^/    /' "$tmp/out" "$tmp/err" | head -20 >&2; fi
}
free_port() {
  python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 40000))
}

command -v node >/dev/null || skip "node is not installed"
[ -d "$here/node/node_modules/coap" ] || skip "node-coap is not installed (scripts/install-deps --test)"
[ -x "$T" ] || { echo "FAIL: $T not built" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(free_port)
(cd "$here/node" && exec timeout -k 3 100 node client_alarm_server.js "$port") >"$tmp/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q ready "$tmp/server.log" && break; sleep 0.1; done
grep -q ready "$tmp/server.log" || { cat "$tmp/server.log" >&2; echo "FAIL: node server did not start" >&2; exit 1; }
uri="coap://127.0.0.1:$port/alarm"

expect_rc 0 "GET /alarm" -- timeout -k 3 10 "$T" get "$uri"
check "initial state OFF" grep -qx "OFF" "$tmp/out"
expect_rc 0 "PUT ON" -- timeout -k 3 10 "$T" put "$uri" ON
expect_rc 0 "GET after PUT" -- timeout -k 3 10 "$T" get "$uri"
check "state is ON" grep -qx "ON" "$tmp/out"
expect_rc 4 "PUT of a bad value is 4.00" -- timeout -k 3 10 "$T" put "$uri" MAYBE
check "diagnostic payload shown on stderr" grep -q "4.00.*ON or OFF" "$tmp/err"
expect_rc 4 "GET of another path is 4.04" -- timeout -k 3 10 "$T" get "coap://127.0.0.1:$port/nothing"
expect_rc 4 "DELETE is 4.05" -- timeout -k 3 10 "$T" delete "$uri"
expect_rc 0 "NON GET" -- timeout -k 3 10 "$T" -N get "$uri"
check "NON GET answered" grep -qx "ON" "$tmp/out"

# Observers: tern observe (--count) and the tutorial's observer, while
# tern put and the tutorial's PUT client change the state.
timeout -k 3 20 "$T" observe --count 4 "$uri" >"$tmp/obs_tern" 2>"$tmp/obs_tern.err" &
obs_pid=$!
pids+=($obs_pid)
timeout -k 3 -s INT 15 "$TERN_EXAMPLES/alarm_observe" "$uri" >"$tmp/obs_ex" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$tmp/obs_tern" ] && [ -s "$tmp/obs_ex" ] && break; sleep 0.1; done
timeout -k 3 10 "$T" put "$uri" OFF >/dev/null
timeout -k 3 10 "$TERN_EXAMPLES/alarm_put" "$uri" >"$tmp/put_ex" 2>&1
put_ex_rc=$?
timeout -k 3 10 "$T" put "$uri" ON >/dev/null
wait "$obs_pid"
obs_rc=$?
for _ in $(seq 1 30); do [ "$(grep -c 'Alarm status' "$tmp/obs_ex")" -ge 4 ] && break; sleep 0.1; done
check "alarm_put exits 0" test "$put_ex_rc" = 0
check "alarm_put prints 'Result: 2.04 Changed'" grep -q "^Result: 2.04 Changed" "$tmp/put_ex"
check "alarm_put prints the state it set" grep -Eqx "ON|OFF" "$tmp/put_ex"
check "tern observe --count 4 exits 0" test "$obs_rc" = 0
check "tern observe printed 4 lines" test "$(wc -l <"$tmp/obs_tern")" = 4
check "tern observe lines in order: ON, OFF, <random>, ON" \
  test "$(sed -n '1p;2p;4p' "$tmp/obs_tern" | tr '\n' ' ')" = "ON OFF ON "
check "alarm_observe printed 4 states" test "$(grep -c '^Alarm status: \(ON\|OFF\)$' "$tmp/obs_ex")" -ge 4
check "alarm_observe's last line is ON" test "$(grep 'Alarm status' "$tmp/obs_ex" | tail -1)" = "Alarm status: ON"

if [ "$fails" -gt 0 ]; then
  echo "$fails check(s) failed; node server log:" >&2
  tail -20 "$tmp/server.log" >&2
  exit 1
fi
echo "all client checks against node-coap passed"
