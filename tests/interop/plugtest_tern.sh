#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# plugtest_tern.sh - tern-server --plugtest driven by tern's own client
# (tern does Block1 and Block2 itself): the resources of the ETSI CoAP
# plugtest test descriptions (CoAP#4), each check named after the TD it
# stands for. The wire is read from tern -v, which prints every message on
# stderr as
#   <- 127.0.0.1:5683 ACK 2.05 Content mid=0x1a2b tok=... Content-Format:... | "payload"
# CoAP ping and a request without token (CORE_31, CORE_12), which no
# client here sends, go as raw datagrams through bash's /dev/udp.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$S" "$T"

start_tern_server "$tmp/server.log" --plugtest --state-dir "$tmp/state"
uri="coap://127.0.0.1:$port"

# tt ARGS...: tern, 10 s at most; tn the same with stderr (the -v trace)
# merged into stdout.
tt() { timeout -k 3 10 "$T" "$@"; }
tn() { tt "$@" 2>&1; }
# heard ARGS...: the messages tern -v received, one a line.
heard() { tn -v "$@" | grep -E '^<- '; }

# ---- observers first: /obs and /obs-non change every 5 s ------------------------
bg_run 20 "$T" -v observe --count 2 "$uri/obs" >"$tmp/obs.out" 2>"$tmp/obs.err"
obs=$bg_pid
bg_run 20 "$T" -v -N observe --count 2 "$uri/obs-non" >"$tmp/non.out" 2>"$tmp/non.err"
non=$bg_pid

# ---- CORE -------------------------------------------------------------------------
expect_like "CORE_01 GET /test CON: piggybacked 2.05 with Content-Format" \
  '*<- * ACK 2.05 Content * Content-Format:text/plain* | "Type: CON*' "$(heard get "$uri/test")"
expect_like "CORE_05 GET /test NON: NON 2.05" \
  '*<- * NON 2.05 Content * Content-Format:text/plain* | "Type: NON*' "$(heard -N get "$uri/test")"
expect_like "CORE_03 PUT /test: 2.04" '*ACK 2.04 Changed*' "$(heard put -c text "$uri/test" core03)"
expect_like "CORE_07 PUT /test NON: NON 2.04" '*NON 2.04 Changed*' \
  "$(heard -N put -c text "$uri/test" core07)"
expect_like "CORE_04/18 POST /test: 2.01 with Location-Path location1/location2/location3" \
  '*ACK 2.01 Created *Location-Path:"location1" Location-Path:"location2" Location-Path:"location3"*' \
  "$(heard post -c text "$uri/test" core04)"
expect_like "CORE_08 POST /test NON: NON 2.01" '*NON 2.01 Created *Location-Path:"location1"*' \
  "$(heard -N post -c text "$uri/test" core08)"
expect_rc 0 "CORE_02 DELETE /test" -- tt delete "$uri/test"
expect_rc 4 "GET /test after DELETE: 4.04" -- tt get "$uri/test"
expect_like "CORE_06 DELETE /test NON: NON 2.02" '*NON 2.02 Deleted*' \
  "$(heard -N delete "$uri/test")"
expect_like "PUT /test re-creates it: 2.01" '*ACK 2.01 Created*' "$(heard put "$uri/test" back)"
expect_like "CORE_09 /separate: empty ACK, then CON 2.05" \
  '*<- * ACK Empty *<- * CON 2.05 Content * | "separate response*' \
  "$(heard get "$uri/separate" | tr '\n' ' ')"
expect_like "CORE_17 /separate NON: NON 2.05, no ACK" '<- * NON 2.05 Content * | "separate response*' \
  "$(heard -N get "$uri/separate")"
expect_eq "CORE_13 GET /seg1/seg2/seg3" /seg1/seg2/seg3 "$(tn get "$uri/seg1/seg2/seg3")"
expect_eq "CORE_14 GET /query?first=1&second=2" "?first=1&second=2" \
  "$(tn get "$uri/query?first=1&second=2")"
expect_like "CORE_19 POST /location-query: Location-Query first=1, second=2" \
  '*ACK 2.01 Created *Location-Query:"first=1" Location-Query:"second=2"*' \
  "$(heard post "$uri/location-query" x)"
expect_eq "CORE_20 /multi-format -A text" "one resource, two formats" \
  "$(tn -A text get "$uri/multi-format")"
expect_like "CORE_20 /multi-format -A xml" '<?xml version=*<multi-format>*' \
  "$(tn -A xml get "$uri/multi-format")"
expect_rc 4 "/multi-format -A json: 4.06" -- tt -A json get "$uri/multi-format"

# Raw datagrams: raw BYTES (printf escapes) sends one from a socket of
# bash's and prints the first 4 bytes of the answer in hex (2 s at most).
raw() {
  exec 3<>"/dev/udp/127.0.0.1/$port" || return 1
  printf '%b' "$1" >&3
  timeout 2 head -c 4 <&3 | od -An -tx1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'
  exec 3>&-
}
if out=$(raw '\x40\x00\x12\x34'); then
  expect_eq "CORE_31 CoAP ping (CON Empty, MID 0x1234): RST with that MID" "70 00 12 34" "$out"
  expect_eq "CORE_12 GET /test without token: ACK 2.05, no token" "60 45 12 35" \
    "$(raw '\x40\x01\x12\x35\xb4test')"
else
  note "bash without /dev/udp: CoAP ping and token-less GET not tried"
fi

# ---- CORE_21-23: ETag, If-Match, If-None-Match -------------------------------------
etag() { sed -nE 's/^<- .* ETag:([0-9a-f]+) .*/\1/p' | head -1; }
e1=$(heard get "$uri/validate" | etag)
check "CORE_21 GET /validate: an ETag ($e1)" test -n "$e1"
expect_like "CORE_21 GET with that ETag: 2.03 Valid with it" "*ACK 2.03 Valid * ETag:$e1" \
  "$(heard get -O "ETag,0x$e1" "$uri/validate")"
expect_rc 0 "CORE_22 PUT If-Match $e1: 2.04" -- tt put -O "If-Match,0x$e1" "$uri/validate" tern-22
expect_eq "GET /validate: the new text" tern-22 "$(tn get "$uri/validate")"
expect_rc 4 "CORE_22 PUT If-Match $e1 (stale now): 4.12" -- \
  tt put -O "If-Match,0x$e1" "$uri/validate" tern-lost
expect_eq "... the text unchanged" tern-22 "$(tn get "$uri/validate")"
expect_like "CORE_23 PUT /create1 If-None-Match: 2.01" '*ACK 2.01 Created*' \
  "$(heard put -O If-None-Match, "$uri/create1" tern-23)"
expect_rc 4 "CORE_23 again: 4.12" -- tt put -O If-None-Match, "$uri/create1" again
expect_eq "GET /create1" tern-23 "$(tn get "$uri/create1")"
expect_rc 0 "DELETE /create1" -- tt delete "$uri/create1"
expect_rc 4 "GET /create1 after DELETE: 4.04" -- tt get "$uri/create1"

# ---- LINK ---------------------------------------------------------------------------
expect_eq "LINK_02 discover ?rt=Type1" \
  "$(printf '%s\n' '</link1>;rt="Type1 Type2";if="If1"' '</link3>;rt="Type1 Type3";if="foo"')" \
  "$(tn discover "coap://127.0.0.1:$port?rt=Type1")"
expect_eq "LINK_09 discover ?ct=40" "</path>;ct=40" "$(tn discover "coap://127.0.0.1:$port?ct=40")"
expect_eq "LINK_09 GET /path" "</path/sub1>,</path/sub2>,</path/sub3>" "$(tn --raw get "$uri/path")"

# ---- BLOCK --------------------------------------------------------------------------
for i in $(seq 1 40); do
  printf 'line %02d of /large: the quick brown fox jumps over the lazy dog\n' "$i"
done >"$tmp/large.want"
tn get "$uri/large" >"$tmp/large"
check "BLOCK_02 GET /large ($(wc -c <"$tmp/large") bytes, Block2 followed by tern)" \
  cmp -s "$tmp/large.want" "$tmp/large"

head -c 120000 /dev/urandom >"$tmp/body"
want=$(sha256sum <"$tmp/body" | cut -d' ' -f1)
tn -v put -c octet -f "$tmp/body" "$uri/large-update" >"$tmp/put.out"
n231=$(grep -c '^<- .* 2.31 Continue .*Block1:[0-9]*/1/' "$tmp/put.out")
expect_like "BLOCK_03 PUT /large-update 120000 bytes: 2.31 per block ($n231), then 2.04" \
  '<- * ACK 2.04 Changed * Block1:*/0/*' "$(grep '^<- ' "$tmp/put.out" | tail -1)"
tn get "$uri/large-update" >"$tmp/back"
expect_eq "... GET /large-update: the same 120000 bytes (sha256 ${want:0:16}...)" "$want" \
  "$(sha256sum <"$tmp/back" | cut -d' ' -f1)"

head -c 3000 /dev/urandom >"$tmp/mid"
loc=$(heard post -c octet -f "$tmp/mid" "$uri/large-create" | tail -1)
expect_like "BLOCK_04 POST /large-create: 2.01 with Location-Path large-create/N" \
  '*2.01 Created *Location-Path:"large-create" Location-Path:"[0-9]*"*' "$loc"
n=$(sed -nE 's/.*Location-Path:"large-create" Location-Path:"([0-9]+)".*/\1/p' <<<"$loc")
tn get "$uri/large-create/$n" >"$tmp/created"
check "BLOCK_04 GET /large-create/$n: the body" cmp -s "$tmp/mid" "$tmp/created"
# tern shows a POST's block-wise answer's first block only (it does not
# continue POSTs): the echo's first 1024 bytes.
tt post -c octet -f "$tmp/mid" "$uri/large-post" >"$tmp/echo" 2>/dev/null
check "BLOCK_05 POST /large-post: the answer's first block echoes the body" \
  cmp -s "$tmp/echo" <(head -c 1024 "$tmp/mid")

# ---- OBS ----------------------------------------------------------------------------
wait_bg "$obs"
# With -v each line is "2.05 Observe:N Max-Age:S | value".
vals=$(sed -E 's/^.* \| //' "$tmp/obs.out" | grep -E '^tick [0-9]+$' | sort -u | tr '\n' ' ')
check "OBS_01 tern observe --count 2 /obs: two different values ($vals)" \
  test "$(wc -w <<<"$vals")" -eq 4
check "OBS_01 ... the notification was a CON" grep -qE '^<- .* CON 2.05 Content .*Observe:' "$tmp/obs.err"
wait_bg "$non"
check "OBS_02 tern observe -N --count 2 /obs-non: two values in NON" \
  grep -qE '^<- .* NON 2.05 Content .*Observe:[0-9]+ ' "$tmp/non.err"
dereg=$(grep -A1 -E '^-> .* GET .*Observe:1 ' "$tmp/non.err" | grep '^<- ')
expect_like "OBS_12 GET with Observe=1: answered 2.05 without Observe" '<- * 2.05 Content *' "$dereg"
check "OBS_12 ... no Observe option" test -z "$(grep Observe <<<"$dereg")"

bg_run 20 "$T" observe "$uri/obs" >"$tmp/obs2.out" 2>"$tmp/obs2.err"
obs=$bg_pid
started() { test -s "$tmp/obs2.out"; }
wait_until 3 started
expect_rc 0 "OBS_09 PUT /obs same Content-Format" -- tt put -c text "$uri/obs" tern-9
seen() { grep -qx tern-9 "$tmp/obs2.out"; }
wait_until 2 seen
check "OBS_09 ... tern observe prints tern-9" seen
expect_rc 0 "OBS_08 PUT /obs Content-Format json" -- tt put -c json "$uri/obs" '{"tern":8}'
wait_bg "$obs"
rc=$?
expect_eq "OBS_08 ... tern observe ends with 4.xx (exit 4)" 4 "$rc"
check "OBS_08 ... on 4.06" grep -q '4.06 Not Acceptable' "$tmp/obs2.err"

expect_rc 0 "PUT /obs text again" -- tt put -c text "$uri/obs" tern-7
bg_run 20 "$T" observe "$uri/obs" >"$tmp/obs3.out" 2>"$tmp/obs3.err"
obs=$bg_pid
started3() { test -s "$tmp/obs3.out"; }
wait_until 3 started3
expect_rc 0 "OBS_07 DELETE /obs" -- tt delete "$uri/obs"
wait_bg "$obs"
rc=$?
expect_eq "OBS_07 ... tern observe ends with 4.xx (exit 4)" 4 "$rc"
check "OBS_07 ... on 4.04" grep -q '4.04 Not Found' "$tmp/obs3.err"
expect_like "PUT /obs re-creates it: 2.01" '*ACK 2.01 Created*' "$(heard put "$uri/obs" tern-0)"
