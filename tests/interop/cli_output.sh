#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# cli_output.sh - `tern` as people script it, each option checked by what it
# prints: -i (response code and options), -v (timestamped wire trace, the
# gap of a retransmission), payloads by Content-Format (JSON pretty-printed,
# CBOR in RFC 8949 diagnostic notation, link-format on a terminal,
# octet-stream), --raw,
# -P (a forward proxy: Proxy-Uri, Block2 through it), -b (Block2 early
# negotiation, Block1 size), `echo ON | tern put URI -`, and FETCH, PATCH,
# iPATCH (RFC 8132). Peers, all on 127.0.0.1 at ports the kernel picks:
# tern-server --plugtest (this build), and two node dgram scripts in
# tests/interop/node: cli_formats.js (answers in JSON, CBOR, ...; CBOR
# written out byte by byte) and cli_proxy.js (a minimal forward proxy that
# checks Proxy-Uri and relays). Without node the node parts skip (fail
# under TERN_REQUIRE_INTEROP=1).
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$T" "$S"

# tt ARGS...: tern, 10 s at most.
tt() { timeout -k 3 10 "$T" "$@"; }
# hex [FILE]: its bytes (or stdin's) as one line of hex.
hex() { od -An -v -tx1 ${1+"$1"} | tr -d ' \n'; }
# trace_ms FILE: the time of each -v line, in ms since midnight, one a line.
trace_ms() {
  sed -nE 's/^(->|<-) ([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3}) .*/\2 \3 \4 \5/p' "$1" |
    awk '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}
# nondecreasing: stdin numbers never go down.
nondecreasing() { awk 'NR > 1 && $1 < prev { bad = 1 } { prev = $1 } END { exit bad }'; }

mkdir -p "$tmp/state"
start_tern_server "$tmp/server.log" --plugtest --state-dir "$tmp/state"
sport=$port
srv="coap://127.0.0.1:$sport"

# ---- -i: code and options on stderr, body on stdout --------------------------------
expect_rc 0 "-i GET /test" -- tt -i get "$srv/test"
expect_eq "-i prints the code, then Content-Format: 0" "$(printf '2.05 Content\nContent-Format: 0')" \
  "$(cat "$tmp/err")"
check "-i leaves the body on stdout" grep -qx "Type: CON" "$tmp/out"
expect_rc 4 "-i GET of a missing resource" -- tt -i get "$srv/none"
expect_eq "-i: the 4.04 line first" "4.04 Not Found" "$(head -1 "$tmp/err")"
check "...then the usual diagnostic line" grep -q "^tern: 4.04 Not Found" "$tmp/err"
expect_rc 0 "-q -i prints nothing" -- tt -q -i get "$srv/test"
check "-q wins over -i" test ! -s "$tmp/err" -a ! -s "$tmp/out"

# ---- -v: every line timestamped, the arrow first ----------------------------------------
expect_rc 0 "-v GET /large (40 blocks of 64 bytes)" -- tt -v -b 64 get "$srv/large"
n=$(grep -cE '^(->|<-) [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} 127\.0\.0\.1:[0-9]+ (CON|ACK) ' "$tmp/err")
expect_eq "-v: every line is 'ARROW HH:MM:SS.mmm ADDRESS MESSAGE'" "$(wc -l <"$tmp/err")" "$n"
check "-v: 40 blocks answered" test "$(grep -c '^<- .* ACK 2.05 Content ' "$tmp/err")" = 40
check "-v: the times never go back" nondecreasing < <(trace_ms "$tmp/err")

# ---- -b: Block2 early negotiation, Block1 block size ------------------------------------
tt get "$srv/large" >"$tmp/large" 2>/dev/null
check "/large: 2520 bytes" test "$(wc -c <"$tmp/large")" = 2520
expect_rc 0 "-b 16 GET /large" -- tt -v -b 16 get "$srv/large"
check "-b 16: the whole body" cmp -s "$tmp/out" "$tmp/large"
check "-b 16: the first request asks Block2 0/0/16" \
  grep -qE '^-> .* CON GET .*Uri-Path:"large" Block2:0/0/16$' "$tmp/err"
check "-b 16: the server answers in 16-byte blocks" grep -qE '^<- .* Block2:0/1/16 Size2:2520 ' "$tmp/err"
check "-b 16: 158 blocks, every one of 16 bytes" \
  test "$(grep -cE '^<- .* ACK 2.05 Content .* Block2:[0-9]+/[01]/16( |$)' "$tmp/err")" = 158
head -c 100 /dev/zero | tr '\0' 'u' >"$tmp/upload"
expect_rc 0 "-b 16 PUT of 100 bytes" -- tt -v -b 16 put -c octet -f "$tmp/upload" "$srv/large-update"
check "-b 16 PUT: Block1 0/1/16 and Size1 100 first" \
  grep -qE '^-> .* PUT .*Block1:0/1/16 Size1:100 ' "$tmp/err"
check "-b 16 PUT: 7 blocks, the last 6/0/16" \
  sh -c "test \$(grep -oE '^-> .* PUT .*Block1:[0-9]+/' '$tmp/err' | sed 's/.*Block1://' | sort -u | wc -l) = 7 &&
         grep -q '^-> .* PUT .*Block1:6/0/16 ' '$tmp/err'"
check "-b 16 PUT: the server has the 100 bytes" \
  test "$(tt get "$srv/large-update" 2>/dev/null)" = "$(cat "$tmp/upload")"
expect_rc 2 "-b 17 is refused" -- tt -b 17 get "$srv/test"
expect_rc 2 "-b 2048 is refused" -- tt -b 2048 get "$srv/test"

# ---- echo ON | tern put URI - -------------------------------------------------------------
alarm="$srv/alarm"
out=$(echo ON | tt put "$alarm" - 2>"$tmp/err")
check "echo ON | tern put alarm -: 2.04 (exit 0)" test $? = 0 || indent "$tmp/err"
expect_eq "...which prints the new state" ON "$out"
expect_eq "GET: the alarm is ON" ON "$(tt get "$alarm")"
printf 'OFF\r\n' | tt put "$alarm" - >/dev/null
expect_eq "a CRLF from stdin goes too: the alarm is OFF" OFF "$(tt get "$alarm")"
echo ON | tt -v put -c text "$srv/test" - >/dev/null 2>"$tmp/err"
check "-c text: the newline goes" grep -q '^-> .* PUT .* | "ON"$' "$tmp/err"
echo ON | tt -v put -c octet "$srv/test" - >/dev/null 2>"$tmp/err"
check "-c octet: stdin is sent as it came" grep -qE '^-> .* PUT .* \| "ON\\n"$' "$tmp/err"
echo ON >"$tmp/on"
tt -v put "$srv/test" "@$tmp/on" >/dev/null 2>"$tmp/err"
check "@FILE is sent byte for byte" grep -qE '^-> .* PUT .* \| "ON\\n"$' "$tmp/err"
echo ON | tt -v put "$srv/test" @/dev/stdin >/dev/null 2>"$tmp/err"
check "@/dev/stdin is sent byte for byte" grep -qE '^-> .* PUT .* \| "ON\\n"$' "$tmp/err"

# ---- FETCH, PATCH, iPATCH go out with their codes ---------------------------------------
tt -v fetch -c json "$srv/test" '{"q":1}' >/dev/null 2>"$tmp/err"
check "fetch: a FETCH with its payload on the wire" \
  grep -qE '^-> .* CON FETCH .*Content-Format:application/json \| "\{\\"q\\":1\}"$' "$tmp/err"
tt -v patch "$srv/test" x >/dev/null 2>"$tmp/err"
check "patch: a PATCH on the wire" grep -qE '^-> .* CON PATCH ' "$tmp/err"
tt -v ipatch "$srv/test" x >/dev/null 2>"$tmp/err"
check "ipatch: an iPATCH on the wire" grep -qE '^-> .* CON iPATCH ' "$tmp/err"
check "--help names fetch, patch and ipatch" sh -c "'$T' --help | grep -q 'fetch|patch|ipatch URI'"

# ---- the node peers ------------------------------------------------------------------------
if ! command -v node >/dev/null; then
  peer_missing "node is not installed: no JSON, CBOR, proxy or FETCH server"
  exit 0
fi
start_node_server "$tmp/formats.log" cli_formats.js
fmt="coap://127.0.0.1:$port"
start_node_server "$tmp/proxy.log" cli_proxy.js
proxy="coap://127.0.0.1:$port"

# -i with every kind of option value.
expect_rc 0 "-i GET /opts" -- tt -i get "$fmt/opts"
expect_eq "-i: uint as numbers, strings quoted and escaped, opaque as hex" \
  "$(printf '%s\n' '2.05 Content' 'ETag: 0x0102' 'Location-Path: "a\"b\\c\n"' 'Content-Format: 0' \
      'Max-Age: 30' 'Option-65000: 0xbeef')" "$(cat "$tmp/err")"

# JSON: pretty; SenML+JSON fits a line; --raw; not JSON; numbers cJSON cannot keep.
expect_rc 0 "GET /json" -- tt get "$fmt/json"
expect_eq "JSON pretty-printed" '{
  "temp": 21.5,
  "unit": "Cel",
  "tags": ["kitchen", "north"],
  "ok": true,
  "err": null,
  "nested": {"a": []}
}' "$(cat "$tmp/out")"
expect_rc 0 "GET /senml" -- tt get "$fmt/senml"
expect_eq "SenML+JSON (110) that fits a line stays on one" \
  '[{"bn": "urn:dev:ow:10e2073a01080063:", "n": "temp", "u": "Cel", "v": 23.1}]' "$(cat "$tmp/out")"
expect_rc 0 "--raw GET /json" -- tt --raw get "$fmt/json"
expect_eq "--raw: the JSON as received, a newline added (a text format)" \
  "$(printf '%s' '{"temp":21.5,"unit":"Cel","tags":["kitchen","north"],"ok":true,"err":null,"nested":{"a":[]}}' | hex)0a" \
  "$(hex "$tmp/out")"
expect_rc 0 "GET /badjson (exit 0 all the same)" -- tt get "$fmt/badjson"
expect_eq "not JSON: printed as received" '{"temp": 21.5,' "$(cat "$tmp/out")"
check "...with a warning" grep -q "^tern: warning: the payload is not valid JSON (Content-Format 50" "$tmp/err"
expect_rc 0 "GET /bigjson" -- tt get "$fmt/bigjson"
expect_eq "an integer beyond 2^53 is not rounded: printed as received" \
  '{"id":12345678901234567890}' "$(cat "$tmp/out")"
check "...with a warning" grep -q "^tern: warning: a number in the JSON payload" "$tmp/err"

# CBOR: diagnostic notation (RFC 8949 section 8), exact text.
expect_rc 0 "GET /cbor" -- tt get "$fmt/cbor"
expect_eq "CBOR in diagnostic notation, one member a line" '{
  "n": "temp",
  "v": 21.5,
  "ok": true,
  "raw": h'"'01ff'"',
  "list": [1, -2, null, undefined],
  "t": 1(1700000000),
  "m": {_ "a": 1},
  "s": "a\"b\n",
  "f": 1.0e+300
}' "$(cat "$tmp/out")"
expect_rc 0 "GET /senml-cbor" -- tt get "$fmt/senml-cbor"
expect_eq "SenML+CBOR (112) on one line" \
  '[{-2: "urn:dev:ow:10e2073a01080063:", 0: "temp", 1: "Cel", 2: 23.1}]' "$(cat "$tmp/out")"
expect_rc 0 "--raw GET /cbor" -- tt --raw get "$fmt/cbor"
expect_eq "--raw CBOR: the bytes, no newline" \
  "a9616e6474656d706176f94d60626f6bf563726177420" \
  "$(hex "$tmp/out" | cut -c1-45)"
check "--raw CBOR: 67 bytes, the last 9c" sh -c "test \$(wc -c <'$tmp/out') = 67 && test \$(tail -c1 '$tmp/out' | od -An -tx1 | tr -d ' ') = 9c"
expect_rc 0 "GET /badcbor" -- tt get "$fmt/badcbor"
expect_eq "truncated CBOR: the bytes as received, no newline" a2616101 "$(hex "$tmp/out")"
check "...with a warning" grep -q "^tern: warning: the payload is not one well-formed CBOR data item" "$tmp/err"

# Link-format: one link a line, into a pipe and on a terminal (script(1)
# makes one); --raw gives the bytes as received.
links="$(printf '%s\n' '</sensors/temp>;rt="temperature";if="sensor"' '</sensors/light>;ct=0')"
expect_rc 0 "GET /links into a pipe" -- tt get "$fmt/links"
expect_eq "link-format into a pipe: one link a line" "$links" "$(cat "$tmp/out")"
expect_rc 0 "--raw GET /links" -- tt --raw get "$fmt/links"
expect_eq "--raw link-format: as received" \
  '</sensors/temp>;rt="temperature";if="sensor",</sensors/light>;ct=0' "$(cat "$tmp/out")"
if command -v script >/dev/null; then
  timeout -k 3 10 script -qefc "'$T' get '$fmt/links'" /dev/null </dev/null >"$tmp/out" 2>&1
  expect_eq "link-format on a terminal: one link a line" "$links" "$(tr -d '\r' <"$tmp/out")"
  timeout -k 3 10 script -qefc "'$T' get '$fmt/badlinks'" /dev/null </dev/null >"$tmp/out" 2>&1
  check "malformed link-format on a terminal: as received, warned" \
    sh -c "grep -q '^not a link' '$tmp/out' && grep -q 'not well-formed link-format' '$tmp/out'"
else
  peer_missing "script(1) is not installed (util-linux): no terminal for link-format"
fi
expect_rc 0 "discover $fmt/links" -- tt discover "$fmt/links"
expect_eq "discover URI: one link a line into a pipe too" "$links" "$(cat "$tmp/out")"

expect_rc 0 "GET /octet" -- tt get "$fmt/octet"
expect_eq "octet-stream: the bytes, nothing added" 000102feff0a "$(hex "$tmp/out")"

# observe: a notification stays one line (compact JSON).
expect_rc 0 "observe --count 2 /obs-json" -- tt observe --count 2 "$fmt/obs-json"
expect_eq "one compact line per notification" "$(printf '%s\n' '{"n":1,"v":[1,2]}' '{"n":2,"v":[3,4]}')" \
  "$(cat "$tmp/out")"

# FETCH, PATCH, iPATCH answered.
expect_rc 0 "fetch -c json" -- tt fetch -c json "$fmt/things" '{"room":"kitchen"}'
expect_eq "FETCH arrived with its payload" 'FETCH cf=50 {"room":"kitchen"}' "$(cat "$tmp/out")"
expect_rc 0 "patch -c merge-patch" -- tt patch -c merge-patch "$fmt/things" '{"on":true}'
expect_eq "PATCH arrived (2.04)" 'PATCH cf=52 {"on":true}' "$(cat "$tmp/out")"
expect_rc 0 "ipatch -c merge-patch" -- tt ipatch -c merge-patch "$fmt/things" '{"on":false}'
expect_eq "iPATCH arrived" 'iPATCH cf=52 {"on":false}' "$(cat "$tmp/out")"

# -P: through the proxy, Proxy-Uri only; Block2 continued through it.
expect_rc 0 "-P GET /json through the proxy" -- tt -v -P "$proxy" get "$fmt/json"
check "-P: the JSON came back, pretty" grep -qx '  "unit": "Cel",' "$tmp/out"
check "-P: sent to the proxy with Proxy-Uri, no Uri-*" \
  grep -qE "^-> .* ${proxy#coap://} CON GET mid=[^ ]+ tok=[0-9a-f]+ Proxy-Uri:\"$fmt/json\"\$" "$tmp/err"
check "-P: the proxy saw Proxy-Uri and no Uri-* option" grep -qx "proxy-uri=$fmt/json block2=- uri-opts=0" "$tmp/proxy.log"
expect_rc 0 "-P GET tern-server's /large (Block2 through the proxy)" -- tt -P "$proxy" get "$srv/large"
check "-P: the whole 2520 bytes" cmp -s "$tmp/out" "$tmp/large"
check "-P: the later blocks went through the proxy too" grep -qx "proxy-uri=$srv/large block2=2/0/1024 uri-opts=0" "$tmp/proxy.log"
expect_rc 0 "-P -b 64 GET /large" -- tt -P "$proxy" -b 64 get "$srv/large"
check "-P -b 64: the whole body" cmp -s "$tmp/out" "$tmp/large"
check "-P -b 64: Block2 0/0/64 in the first request" grep -qx "proxy-uri=$srv/large block2=0/0/64 uri-opts=0" "$tmp/proxy.log"
check "-P -b 64: and 39/0/64 for the last" grep -qx "proxy-uri=$srv/large block2=39/0/64 uri-opts=0" "$tmp/proxy.log"
expect_rc 0 "-P -b 16 PUT of 100 bytes (Block1 through the proxy)" -- \
  tt -P "$proxy" -b 16 put -c octet -f "$tmp/upload" "$srv/large-update"
check "-P PUT: the server has the 100 bytes" \
  test "$(tt get "$srv/large-update" 2>/dev/null)" = "$(cat "$tmp/upload")"
expect_rc 3 "-P with a path in the proxy URI is a bad URI" -- tt -P "$proxy/x" get "$fmt/json"
expect_rc 3 "-P to a target that is no URI" -- tt -P "$proxy" get "not-a-uri"

# -v times a retransmission: a CON to /silent gets no answer; the first
# retransmission comes ACK_TIMEOUT (2 s) to 1.5 times that later.
expect_rc 8 "-v -t 4 GET /silent: no answer (exit 8)" -- tt -v -t 4 get "$fmt/silent"
mapfile -t sent < <(grep '^-> ' "$tmp/err" > "$tmp/sent"; trace_ms "$tmp/sent")
check "two transmissions in 4 s" test "${#sent[@]}" = 2
gap=$(( ${sent[1]:-0} - ${sent[0]:-0} ))
check "the retransmission came 2 to 3 s after (${gap} ms)" test "$gap" -ge 1950 -a "$gap" -le 3100
