#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The `tern` client against a server that answers oddly
# (tests/interop/node/odd_server.js, on node's dgram alone). RFC 7252:
# elective options never reject a response, however many (5.4.1); a
# piggybacked response with an unrecognised critical option is rejected,
# the request stays outstanding and a later, valid ACK answers it (5.4.1,
# 4.2); an ACK with the right token under another MID is no answer (4.2,
# 5.3.2); RFC 7959 2.2: Block2 with SZX 7 cannot be processed, so nothing
# is printed as if it were the body. Skips (77) when node is missing,
# unless TERN_REQUIRE_INTEROP=1.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

command -v node >/dev/null || skip "node is not installed"
need_built "$T"

start_node_server "$tmp/server.log" odd_server.js
base="coap://127.0.0.1:$port"

expect_rc 0 "300 elective options are skipped" -- timeout -k 3 10 "$T" get "$base/many"
expect_eq "  ... and the body shown" "ok" "$(cat "$tmp/out")"

expect_rc 0 "unrecognised critical option: that ACK ignored, the retransmission answered" -- \
  timeout -k 3 20 "$T" get "$base/critical"
expect_eq "  ... the valid answer shown, never the rejected one" "real" "$(cat "$tmp/out")"

expect_rc 0 "ACK under another MID ignored" -- timeout -k 3 10 "$T" get "$base/wrongmid"
expect_eq "  ... the ACK with the request's MID answers" "real" "$(cat "$tmp/out")"

expect_rc 8 "Block2 with SZX 7: an error (no answer it can take), not a body" -- \
  timeout -k 3 20 "$T" get -t 4 "$base/szx7"
check "  ... nothing on stdout" test ! -s "$tmp/out"
