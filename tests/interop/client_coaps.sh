#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# client_coaps.sh - the tern client over coaps (RFC 7252 section 9, DTLS
# 1.2) against libcoap's coap-server-openssl: PUT, GET, observe and
# discovery with a PSK (-u -k, section 9.1.3.1); a wrong key times out
# (exit 8) and prints nothing; certificates (--cert --key --ca, 9.1.3.3)
# against a server with its own certificate; a coaps URI without
# credentials is a usage error, never sent in clear.
# Exits 77 (skip) when coap-server-openssl is missing, unless
# TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$T"
command -v coap-server-openssl >/dev/null ||
  skip "coap-server-openssl is not installed (Debian: libcoap3-bin)"
tc() { timeout -k 3 15 "$T" "$@" 2>&1; }

# coap-server serves coaps on its port + 1; -d 1: a PUT creates a resource.
start_libcoap_coaps() { # LOG OPTIONS...: sets $sport
  local log=$1
  shift
  unused_udp_port
  local p=$unused_port
  show_log_on_failure coap-server-openssl "$log"
  bg_run 60 coap-server-openssl -A 127.0.0.1 -p "$p" -v 7 -d 1 "$@" >"$log" 2>&1
  server_pid=$bg_pid
  wait_port "$server_pid" "$log" '.*created DTLS +endpoint 127\.0\.0\.1:([0-9]+).*' coap-server
  sport=$port
}

# ---- PSK ------------------------------------------------------------------------
start_libcoap_coaps "$tmp/psk.log" -k sekrit-42
u="coaps://127.0.0.1:$sport"
psk=(-u tern-client -k sekrit-42)
tc put "${psk[@]}" "$u/alarm" OFF >/dev/null
expect_eq "PSK: GET /alarm after PUT OFF -> OFF" OFF "$(tc get "${psk[@]}" "$u/alarm")"
expect_rc 0 "PSK: PUT ON succeeds" -- "$T" put "${psk[@]}" "$u/alarm" ON
expect_eq "PSK: GET /alarm -> ON" ON "$(tc get "${psk[@]}" "$u/alarm")"
expect_like "PSK: discovery lists /time" '*</time>*' "$(tc discover "${psk[@]}" "$u")"

bg_run 10 stdbuf -o0 "$T" observe -n 2 "${psk[@]}" "$u/alarm" >"$tmp/obs.out" 2>&1
obs_pid=$bg_pid
first() { [ "$(head -1 "$tmp/obs.out")" = ON ]; }
wait_until 3 first
tc put "${psk[@]}" "$u/alarm" OFF >/dev/null
wait_bg "$obs_pid"
expect_eq "PSK: observe sees ON, then OFF after a PUT" "ON OFF" "$(tr '\n' ' ' <"$tmp/obs.out" | sed 's/ $//')"

out=$("$T" get -t 3 -u tern-client -k wrong-key "$u/alarm" 2>"$tmp/wrong.err")
rc=$?
expect_eq "a wrong key: nothing printed" "" "$out"
check "a wrong key: exit 8, no response (exit $rc)" test "$rc" = 8
indent "$tmp/wrong.err"
stop_bg "$server_pid"

# libcoap's GnuTLS build: another DTLS stack on the server side.
if command -v coap-server-gnutls >/dev/null; then
  unused_udp_port
  gp=$unused_port
  show_log_on_failure coap-server-gnutls "$tmp/gnutls.log"
  bg_run 30 coap-server-gnutls -A 127.0.0.1 -p "$gp" -v 7 -d 1 -k sekrit-42 >"$tmp/gnutls.log" 2>&1
  g_pid=$bg_pid
  wait_port "$g_pid" "$tmp/gnutls.log" '.*created DTLS +endpoint 127\.0\.0\.1:([0-9]+).*' coap-server-gnutls
  tc put "${psk[@]}" "coaps://127.0.0.1:$port/alarm" ON >/dev/null
  expect_eq "coap-server-gnutls, PSK: GET /alarm after PUT ON -> ON" ON \
    "$(tc get "${psk[@]}" "coaps://127.0.0.1:$port/alarm")"
  stop_bg "$g_pid"
else
  note "coap-server-gnutls not installed: the GnuTLS server is not tried"
fi

out=$("$T" get "coaps://127.0.0.1:$sport/alarm" 2>&1)
rc=$?
check "coaps without credentials: a usage error (exit $rc)" test "$rc" = 2
check "...saying what is missing" grep -q 'needs credentials' <<<"$out"

# ---- certificates -------------------------------------------------------------------
make_test_certs tern-client
start_libcoap_coaps "$tmp/cert.log" -c "$tmp/server.crt" -j "$tmp/server.key" -C "$tmp/ca.crt"
u="coaps://127.0.0.1:$sport"
cert=(--cert "$tmp/client.crt" --key "$tmp/client.key" --ca "$tmp/ca.crt")
tc put "${cert[@]}" "$u/alarm" ON >/dev/null
expect_eq "certificates: GET /alarm after PUT ON -> ON" ON "$(tc get "${cert[@]}" "$u/alarm")"
# A CA that did not sign the server's certificate: the handshake fails.
out=$("$T" get -t 3 --cert "$tmp/client.crt" --key "$tmp/client.key" --ca "$tmp/other.crt" \
  "$u/alarm" 2>/dev/null)
rc=$?
check "a server certificate from another CA: nothing printed, exit $rc (not 0)" \
  test -z "$out" -a "$rc" != 0
stop_bg "$server_pid"
