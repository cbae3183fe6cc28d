#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# server_coaps.sh - tern-server over coaps (RFC 7252 section 9, DTLS 1.2)
# driven by libcoap's coap-client-openssl: GET, PUT and observe with a PSK
# (section 9.1.3.1) and with X.509 certificates (9.1.3.3); a wrong key and
# an unknown identity refused; allow lines: an identity without the right
# gets 4.03, a plain coap client 4.01, discovery lists only what the peer
# may GET; a PSK file or private key other users may read is refused at
# start; no key material in the log, even at debug level; --secure-only
# opens no plain socket; a flood of handshakes from many source ports
# leaves a legitimate GET answered promptly and the server's memory
# bounded. Exits 77 (skip) when coap-client-openssl is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$S"
command -v coap-client-openssl >/dev/null ||
  skip "coap-client-openssl is not installed (Debian: libcoap3-bin)"
C=coap-client-openssl
cs() { timeout -k 3 10 "$C" -B 3 "$@" 2>&1; }

# ---- credentials ------------------------------------------------------------
printf '# coaps identities\ndoor-sensor-1 door-secret-7\nviewer 0x766965772d6b6579\n' >"$tmp/psk.txt"
chmod 600 "$tmp/psk.txt"
cat >"$tmp/tern.conf" <<'EOF'
/door=OPEN,CLOSED:CLOSED
allow PUT /alarm door-sensor-1
allow GET /alarm *
allow GET,PUT /door door-sensor-1
EOF

make_test_certs door-sensor-1

coaps_port() { # LOG: the port of its "listening on coaps://" line
  sed -nE 's#.*listening on coaps://127\.0\.0\.1:([0-9]+) .*#\1#p' "$1" | head -1
}

# ---- PSK -----------------------------------------------------------------------
start_tern_server "$tmp/server.log" --state-dir "$tmp/state" --config "$tmp/tern.conf" \
  --psk-file "$tmp/psk.txt" --psk-hint tern-alarm --coaps-port 0 --log-level debug
sport=$(coaps_port "$tmp/server.log")
check "tern-server listens on coaps too" test -n "$sport"
u="coaps://127.0.0.1:$sport"
p="coap://127.0.0.1:$port"
door=(-u door-sensor-1 -k door-secret-7)
viewer=(-u viewer -k view-key)

expect_eq "PSK door-sensor-1: GET /alarm -> OFF" OFF "$(cs "${door[@]}" "$u/alarm")"
expect_eq "PSK door-sensor-1: PUT ON -> 2.04 ON" ON "$(cs "${door[@]}" -m put -e ON "$u/alarm")"
expect_eq "PSK viewer (hex key): GET /alarm -> ON" ON "$(cs "${viewer[@]}" "$u/alarm")"
expect_like "PSK viewer: PUT OFF -> 4.03 (allow lines)" '*4.03*' \
  "$(cs "${viewer[@]}" -m put -e OFF "$u/alarm")"
expect_like "plain coap: PUT OFF -> 4.01 (authenticate first)" '*4.01*' \
  "$(cs -m put -e OFF "$p/alarm")"
expect_eq "plain coap: GET /alarm allowed to * -> ON" ON "$(cs "$p/alarm")"
expect_eq "state unchanged by the refused PUTs" ON "$(cs "${door[@]}" "$u/alarm")"
expect_like "plain coap: GET /door -> 4.01" '*4.01*' "$(cs "$p/door")"
expect_eq "door-sensor-1: GET /door -> CLOSED" CLOSED "$(cs "${door[@]}" "$u/door")"

expect_eq "discovery, door-sensor-1: /alarm and /door" \
  '</alarm>;rt="alarm";ct=0;obs,</door>;rt="door";ct=0;obs' \
  "$(cs "${door[@]}" "$u/.well-known/core" | tr -d '\n')"
expect_eq "discovery, viewer: /alarm only" '</alarm>;rt="alarm";ct=0;obs' \
  "$(cs "${viewer[@]}" "$u/.well-known/core")"
expect_eq "discovery, plain coap: /alarm only" '</alarm>;rt="alarm";ct=0;obs' \
  "$(cs "$p/.well-known/core")"

# libcoap's GnuTLS build is another DTLS stack: the same PSK works.
if command -v coap-client-gnutls >/dev/null; then
  g() { timeout -k 3 10 coap-client-gnutls -B 3 "$@" 2>&1; }
  expect_eq "coap-client-gnutls, PSK: GET /alarm -> ON" ON "$(g "${door[@]}" "$u/alarm")"
  expect_like "coap-client-gnutls, viewer: PUT -> 4.03" '*4.03*' \
    "$(g "${viewer[@]}" -m put -e OFF "$u/alarm")"
else
  note "coap-client-gnutls not installed: the GnuTLS client is not tried"
fi

out=$(cs -u door-sensor-1 -k not-the-key "$u/alarm")
check "a wrong key gets no answer" test "$out" != ON -a "$out" != OFF
note "coap-client with a wrong key: $(echo "$out" | tr '\n' ' ' | cut -c1-100)"
out=$(cs -u stranger -k door-secret-7 "$u/alarm")
check "an unknown identity gets no answer" test "$out" != ON -a "$out" != OFF

# Observe over coaps (RFC 7641): the viewer observes, the sensor PUTs.
bg_run 8 stdbuf -o0 "$C" -B 6 -s 4 "${viewer[@]}" "$u/alarm" >"$tmp/obs.out" 2>&1
obs_pid=$bg_pid
observed() { [ "$(cat "$tmp/obs.out")" = "$1" ]; }
wait_until 3 observed ON
expect_eq "coaps observer registered, sees ON" ON "$(cat "$tmp/obs.out")"
expect_eq "door-sensor-1 PUTs OFF" OFF "$(cs "${door[@]}" -m put -e OFF "$u/alarm")"
wait_until 2 observed ONOFF
expect_eq "coaps observer notified of OFF" ONOFF "$(cat "$tmp/obs.out")"
wait_bg "$obs_pid"

# A handshake flood: 60 clients from as many source ports at once, each
# with an unknown identity, while a legitimate client asks.
# bg_run's pid is timeout's: the server is its child.
spid=$(pgrep -n -P "$server_pid" tern-server || echo "$server_pid")
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$spid/status"; }
rss_before=$(rss)
flood_pids=()
for i in $(seq 60); do
  timeout -k 1 8 "$C" -B 4 -u "flood$i" -k x "$u/alarm" >/dev/null 2>&1 &
  flood_pids+=($!)
done
t0=$(date +%s%N)
got=$(cs "${door[@]}" "$u/alarm")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "a GET during the flood is answered" OFF "$got"
check "...within 2 s (${ms} ms)" test "$ms" -lt 2000
for pid in "${flood_pids[@]}"; do wait "$pid" 2>/dev/null; done
rss_after=$(rss)
note "server RSS ${rss_before} kB before the flood, ${rss_after} kB after"
check "server memory bounded through the flood (RSS $rss_after kB < 65536 kB)" \
  test "$rss_after" -lt 65536

# Memory per session: 40 observers over coaps, each its own session.
obs_pids=()
for i in $(seq 40); do
  timeout -k 1 8 "$C" -B 5 -s 4 "${viewer[@]}" "$u/alarm" >/dev/null 2>&1 &
  obs_pids+=($!)
done
sleep 1.5
rss_sessions=$(rss)
tern_sessions=$(grep -c 'Observe:0' "$tmp/server.log")
note "40 coaps sessions (observers): RSS $rss_after -> $rss_sessions kB, about $(( (rss_sessions - rss_after) * 1024 / 40 )) bytes per session"
for pid in "${obs_pids[@]}"; do wait "$pid" 2>/dev/null; done

# The examples take a coaps URI with a PSK too.
out=$(timeout -k 3 10 "$TERN_EXAMPLES/alarm_put" "$u/alarm" door-sensor-1 door-secret-7 2>&1)
expect_like "examples/alarm_put over coaps with a PSK -> 2.04" '*2.04 Changed*' "$out"

check "no key material in the log (debug level)" \
  bash -c "! grep -qE 'door-secret-7|view-key|766965772d6b6579' '$tmp/server.log'"
stop_bg "$server_pid"

# ---- files other users may read: refused at start ---------------------------------
cp "$tmp/psk.txt" "$tmp/psk-open.txt"
chmod 644 "$tmp/psk-open.txt"
"$S" --port 0 --bind 127.0.0.1 --workers 1 --state-dir "$tmp/state2" \
  --psk-file "$tmp/psk-open.txt" >"$tmp/refused.log" 2>&1
rc=$?
check "a PSK file of mode 0644 is refused (exit $rc)" test "$rc" -ne 0
check "...naming the file and its mode" grep -q 'psk-open.txt: mode 0644' "$tmp/refused.log"
indent "$tmp/refused.log"
chmod 644 "$tmp/server.key"
"$S" --port 0 --bind 127.0.0.1 --workers 1 --state-dir "$tmp/state2" \
  --cert "$tmp/server.crt" --key "$tmp/server.key" >"$tmp/refused2.log" 2>&1
rc=$?
check "a private key of mode 0644 is refused (exit $rc)" test "$rc" -ne 0
check "...naming the key and its mode" grep -q 'server.key: mode 0644' "$tmp/refused2.log"
chmod 600 "$tmp/server.key"

# ---- certificates, coaps only --------------------------------------------------------
show_log_on_failure tern-server "$tmp/cert.log"
bg_run 60 "$S" --bind 127.0.0.1 --workers 1 --state-dir "$tmp/state3" --config "$tmp/tern.conf" \
  --cert "$tmp/server.crt" --key "$tmp/server.key" --ca "$tmp/ca.crt" --coaps-port 0 \
  --secure-only >"$tmp/cert.log" 2>&1
cert_pid=$bg_pid
wait_port "$cert_pid" "$tmp/cert.log" '.*listening on coaps://127\.0\.0\.1:([0-9]+) .*' tern-server
u="coaps://127.0.0.1:$port"
cert=(-c "$tmp/client.crt" -j "$tmp/client.key" -R "$tmp/ca.crt")
expect_eq "certificate (CN door-sensor-1): GET /alarm -> OFF" OFF \
  "$(cs "${cert[@]}" "$u/alarm")"
expect_eq "certificate: PUT ON allowed to its CN" ON "$(cs "${cert[@]}" -m put -e ON "$u/alarm")"
expect_eq "certificate: GET /door allowed to its CN" CLOSED "$(cs "${cert[@]}" "$u/door")"
bg_run 8 stdbuf -o0 "$C" -B 6 -s 4 "${cert[@]}" "$u/alarm" >"$tmp/obs2.out" 2>&1
obs_pid=$bg_pid
observed2() { [ "$(cat "$tmp/obs2.out")" = "$1" ]; }
wait_until 3 observed2 ON
expect_eq "certificate: PUT OFF while observed" OFF "$(cs "${cert[@]}" -m put -e OFF "$u/alarm")"
wait_until 2 observed2 ONOFF
expect_eq "certificate: the observer (a session of its own) notified of OFF" ONOFF "$(cat "$tmp/obs2.out")"
wait_bg "$obs_pid"
check "--secure-only: no plain coap line in the log" \
  bash -c "! grep -q 'listening on coap://' '$tmp/cert.log'"
out=$(cs "coap://127.0.0.1:$port/alarm")
check "--secure-only: plain coap on the port gets no answer" test "$out" != ON
stop_bg "$cert_pid"
