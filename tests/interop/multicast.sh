#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Multicast and broadcast (RFC 7252 section 8, RFC 6690 section 4): `tern
# discover` of a group address finds every tern-server in it and prints
# them one by one; requests to a group never draw a RST or an error answer.
#
# Nothing leaves this machine, or even its network stack: the test builds a
# small network of its own out of network namespaces (root only): three
# hosts a (10.77.0.1), b (10.77.0.2) and c (10.77.0.3), each with one veth
# to a bridge in a fourth namespace, and a route for 224.0.0.0/4 on that
# veth. Servers on a and b join All CoAP Nodes (224.0.1.187 and ff02::fd);
# c asks. Without root or without `ip netns` it skips, saying so.
set -uo pipefail
. "$(dirname "$0")/lib/common.bash"

need_built "$T" "$S"
ns_skip() { echo "SKIP: $*"; exit 77; } # a skip even in CI: no namespaces there to make
[ "$(id -u)" = 0 ] || ns_skip "multicast tests need root (network namespaces)"
command -v ip >/dev/null || ns_skip "no ip(8) (iproute2)"

p="tmc$$"
nss=()
ns_cleanup() {
  local n
  for n in "${nss[@]+"${nss[@]}"}"; do ip netns del "$n" 2>/dev/null; done
}
trap '_rc=$?; ns_cleanup; (exit $_rc); _interop_exit' EXIT

ip netns add "${p}br" 2>/dev/null || ns_skip "cannot create a network namespace here"
nss+=("${p}br")
ip -n "${p}br" link add br0 type bridge || die "bridge"
ip -n "${p}br" link set br0 type bridge mcast_snooping 0
ip -n "${p}br" link set br0 up
i=1
for h in a b c; do
  ip netns add "$p$h" || die "netns $h"
  nss+=("$p$h")
  ip link add "${p}v$h" type veth peer name "${p}p$h" || die "veth $h"
  ip link set "${p}v$h" netns "$p$h"
  ip link set "${p}p$h" netns "${p}br"
  ip -n "${p}br" link set "${p}p$h" master br0
  ip -n "${p}br" link set "${p}p$h" up
  ip netns exec "$p$h" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$p$h" link set lo up
  ip -n "$p$h" link set "${p}v$h" name eth0
  ip -n "$p$h" addr add "10.77.0.$i/24" dev eth0
  ip -n "$p$h" link set eth0 up
  ip -n "$p$h" route add 224.0.0.0/4 dev eth0
  i=$((i + 1))
done
note "namespaces ${p}a ${p}b ${p}c on bridge ${p}br"

in_ns() { local h=$1; shift; ip netns exec "$p$h" "$@"; }

for h in a b; do
  mkdir -p "$tmp/state$h"
  extra=()
  [ "$h" = b ] && extra=(--resource /door=OPEN,CLOSED:CLOSED)
  show_log_on_failure "tern-server $h" "$tmp/server$h.log"
  bg_run 100 ip netns exec "$p$h" "$S" -p 5683 -d "$tmp/state$h" \
    --join 224.0.1.187 --join ff02::fd%eth0 "${extra[@]+"${extra[@]}"}" >"$tmp/server$h.log" 2>&1
  wait_until 10 grep -q "listening on" "$tmp/server$h.log" || die "server $h did not start"
done

# discover GROUP-URI: both servers answer, each under its own heading.
discover() {
  local what=$1 uri=$2 want_a=$3 want_b=$4
  expect_rc 0 "$what: tern discover $uri" -- in_ns c timeout -k 3 20 "$T" discover -t 7 "$uri"
  check "  ... server a answered" grep -q "^# $want_a:5683$" "$tmp/out" || indent "$tmp/out" "$tmp/err"
  check "  ... server b answered" grep -q "^# $want_b:5683$" "$tmp/out"
  check "  ... b's own resource listed" grep -q "^</door>" "$tmp/out"
  check "  ... two servers counted" grep -q "2 server(s) answered" "$tmp/err"
}
discover "IPv4 multicast, All CoAP Nodes" coap://224.0.1.187 10.77.0.1 10.77.0.2
discover "IPv4 broadcast on the subnet" coap://10.77.0.255 10.77.0.1 10.77.0.2
lla=$(in_ns a ip -6 -o addr show dev eth0 scope link | sed -nE 's/.*inet6 ([0-9a-f:]+)\/.*/\1/p')
llb=$(in_ns b ip -6 -o addr show dev eth0 scope link | sed -nE 's/.*inet6 ([0-9a-f:]+)\/.*/\1/p')
discover "IPv6 link-local All CoAP Nodes" "coap://[ff02::fd%eth0]" "\\[$lla\\]" "\\[$llb\\]"

# RFC 6690 4.1 and RFC 7252 8.2: a filter that matches nothing, and a
# resource no server has, are answered by nobody: not with an empty
# document, not with 4.04.
expect_rc 8 "a group query matching nothing gets no answer" -- \
  in_ns c timeout -k 3 20 "$T" discover -t 6 "coap://224.0.1.187/.well-known/core?rt=no-such"
check "  ... and tern says so" grep -q "no server answered" "$tmp/err"
expect_rc 8 "GET of a path no server has: no 4.04 from the group" -- \
  in_ns c timeout -k 3 20 "$T" get -t 6 "coap://224.0.1.187/nothing-here"

# RFC 7252 8.1: a CON request or a ping to the group draws no RST (every
# member would send one); node's dgram sends them and listens 3 s.
if command -v node >/dev/null; then
  cat >"$tmp/probe.js" <<'JS'
const s = require('dgram').createSocket('udp4');
let got = 0;
s.on('message', (m) => { got++; console.log('got type ' + ((m[0] >> 4) & 3) + ' code ' + m[1]); });
s.bind(0, () => {
  s.send(Buffer.from([0x40, 0x01, 0x12, 0x34, 0xb5, 0x61, 0x6c, 0x61, 0x72, 0x6d]), 5683, '224.0.1.187');
  s.send(Buffer.from([0x40, 0x00, 0x12, 0x35]), 5683, '224.0.1.187');
  setTimeout(() => { console.log('answers ' + got); s.close(); }, 3000);
});
JS
  expect_rc 0 "CON GET and ping to the group" -- in_ns c timeout -k 3 10 node "$tmp/probe.js"
  check "  ... no RST, no answer at all" grep -qx "answers 0" "$tmp/out" || indent "$tmp/out"
else
  peer_missing "node (for the CON-to-a-group probe)"
fi
