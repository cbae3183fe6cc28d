#!/usr/bin/env bash
# End to end: the `tern` client and the example clients against tern-server
# (RFC 7252 GET/PUT, RFC 7641 observe and deregistration, RFC 6690
# discovery), and libcoap's coap-client changing state that `tern observe`
# must see. tern-server is part of this build, so it is required; only the
# libcoap part skips when coap-client is missing (unless
# TERN_REQUIRE_INTEROP=1, where it fails).
set -uo pipefail

: "${TERN_BIN:?TERN_BIN must point at the build's apps directory}"
: "${TERN_EXAMPLES:?TERN_EXAMPLES must point at the build's examples directory}"
T="$TERN_BIN/tern"
S="$TERN_BIN/tern-server"

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

for p in "$T" "$S" "$TERN_EXAMPLES/alarm_put" "$TERN_EXAMPLES/alarm_observe"; do
  [ -x "$p" ] || { echo "FAIL: $p not built" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(free_port)
mkdir -p "$tmp/state"
timeout -k 3 110 "$S" -q -b 127.0.0.1 -p "$port" -d "$tmp/state" >"$tmp/server.log" 2>&1 &
pids+=($!)
uri="coap://127.0.0.1:$port/alarm"
for _ in $(seq 1 50); do timeout -k 3 2 "$T" -q -t 0.2 get "$uri" && break; sleep 0.1; done

expect_rc 0 "GET /alarm" -- timeout -k 3 10 "$T" get "$uri"
check "starts OFF" grep -qx "OFF" "$tmp/out"
expect_rc 0 "PUT ON" -- timeout -k 3 10 "$T" put "$uri" ON
expect_rc 0 "GET after PUT" -- timeout -k 3 10 "$T" get "$uri"
check "now ON" grep -qx "ON" "$tmp/out"
expect_rc 4 "PUT of a bad value is 4.00" -- timeout -k 3 10 "$T" put "$uri" PERHAPS
check "4.00 with a diagnostic" grep -q "4.00" "$tmp/err"
expect_rc 0 "GET: the bad PUT changed nothing" -- timeout -k 3 10 "$T" get "$uri"
check "still ON" grep -qx "ON" "$tmp/out"
expect_rc 4 "GET of a missing resource is 4.04" -- timeout -k 3 10 "$T" get "coap://127.0.0.1:$port/none"
expect_rc 0 "NON PUT OFF" -- timeout -k 3 10 "$T" -N put "$uri" OFF
expect_rc 0 "discover" -- timeout -k 3 10 "$T" discover "coap://127.0.0.1:$port"
check "discovery lists </alarm> as observable" grep -q '^</alarm>.*obs' "$tmp/out"

# Observe, changes from tern put, from the example PUT client and (if
# installed) libcoap's coap-client.
timeout -k 3 -s INT 40 "$T" observe "$uri" >"$tmp/obs_tern" 2>"$tmp/obs_tern.err" &
obs_pid=$!
pids+=($obs_pid)
timeout -k 3 -s INT 40 "$TERN_EXAMPLES/alarm_observe" "$uri" >"$tmp/obs_ex" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$tmp/obs_tern" ] && [ -s "$tmp/obs_ex" ] && break; sleep 0.1; done
check "observe starts with the current state OFF" grep -qx "OFF" "$tmp/obs_tern"
timeout -k 3 10 "$T" put "$uri" ON >/dev/null
timeout -k 3 10 "$TERN_EXAMPLES/alarm_put" "$uri" >"$tmp/put_ex" 2>&1
put_ex_rc=$?
timeout -k 3 10 "$T" put "$uri" OFF >/dev/null
expected="OFF ON $(grep -Ex 'ON|OFF' "$tmp/put_ex") OFF"

client=""
for c in coap-client-notls coap-client coap-client-openssl coap-client-gnutls; do
  if command -v "$c" >/dev/null; then client=$c; break; fi
done
if [ -n "$client" ]; then
  timeout -k 3 10 "$client" -m put -e ON "$uri" >/dev/null 2>&1
  check "coap-client PUT ON accepted" test $? = 0
  expected="$expected ON"
elif [ "${TERN_REQUIRE_INTEROP:-0}" = 1 ]; then
  bad "libcoap's coap-client is not installed"
else
  echo "skip - libcoap's coap-client not installed: no third-party PUT"
fi
# tern-server notifies on a change of state: a PUT of the value it already
# has sends nothing, so repeated values collapse.
expected=$(echo "$expected" | tr ' ' '\n' | uniq | tr '\n' ' ' | sed 's/ $//')
n=$(echo "$expected" | wc -w)
for _ in $(seq 1 50); do [ "$(wc -l <"$tmp/obs_tern")" -ge "$n" ] && [ "$(grep -c 'Alarm status' "$tmp/obs_ex")" -ge "$n" ] && break; sleep 0.1; done
check "alarm_put exits 0 and prints 2.04" sh -c "test $put_ex_rc = 0 && grep -q '^Result: 2.04 Changed' '$tmp/put_ex'"
check "tern observe saw every change in order ($expected)" test "$(tr '\n' ' ' <"$tmp/obs_tern")" = "$expected " ||
  sed 's/^/    got: /' "$tmp/obs_tern" >&2
check "alarm_observe saw every change in order" \
  test "$(sed -n 's/^Alarm status: //p' "$tmp/obs_ex" | tr '\n' ' ')" = "$expected "

# Ctrl-C: tern observe deregisters (GET Observe=1) and exits 0.
kill -INT "$obs_pid"
wait "$obs_pid"
check "tern observe exits 0 on Ctrl-C" test $? = 0
timeout -k 3 20 "$T" -v observe --count 2 "$uri" >"$tmp/out" 2>"$tmp/err" &
obs_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/out" ] && break; sleep 0.1; done
last=$(echo "$expected" | awk '{print $NF}')
[ "$last" = ON ] && next=OFF || next=ON
timeout -k 3 10 "$T" put "$uri" "$next" >/dev/null
wait "$obs_pid"
check "observe --count 2 exits 0" test $? = 0
check "...with two lines" test "$(wc -l <"$tmp/out")" = 2
check "...and a GET Observe=1 on the wire" grep -q -- "-> .*GET.*Observe:1" "$tmp/err"

if [ "$fails" -gt 0 ]; then
  echo "$fails check(s) failed; tern-server log:" >&2
  tail -20 "$tmp/server.log" >&2
  exit 1
fi
echo "all end-to-end client checks against tern-server passed"
