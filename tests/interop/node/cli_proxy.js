// SPDX-License-Identifier: BSD-2-Clause
// cli_proxy.js - a minimal CoAP forward proxy (RFC 7252 section 5.7.2) for
// tests/interop/cli_output.sh, on node's dgram only (cli_coap.js). A
// request must carry Proxy-Uri (section 5.10.2) and none of Uri-Host,
// Uri-Port, Uri-Path, Uri-Query or Proxy-Scheme (4.00 otherwise; 5.05
// without Proxy-Uri). It is sent on to the coap:// target as a CON with
// the target's Uri-Path and Uri-Query, every other option kept (Block2,
// Accept, ...); the target's answer goes back to the client with all its
// options (Block2, ETag, ...), as an ACK to a CON request. One line per
// request on stdout: "proxy-uri=URI block2=NUM/M/SIZE|- uri-opts=N".
// Usage: node cli_proxy.js PORT (0: the kernel picks); prints "ready PORT".
'use strict';
const dgram = require('dgram');
const { OPT, TYPE, CODE, parse, encode, uintOf, opt } = require('./cli_coap');

const sock = dgram.createSocket('udp4');
const URI_OPTS = [OPT.URI_HOST, OPT.URI_PORT, OPT.URI_PATH, OPT.URI_QUERY, OPT.PROXY_SCHEME];
const pending = new Map();  // upstream token hex -> { req, rinfo, timer }
const answered = new Map(); // "addr:port:mid" -> datagram sent back (or null while waiting)
let mid = 0x1000, tok = 0;

function answer(req, rinfo, code, options, payload) {
  const d = encode({ type: req.type === TYPE.CON ? TYPE.ACK : TYPE.NON, code,
                     mid: req.type === TYPE.CON ? req.mid : mid++, token: req.token,
                     options, payload: Buffer.from(payload || '') });
  answered.set(`${rinfo.address}:${rinfo.port}:${req.mid}`, d);
  sock.send(d, rinfo.port, rinfo.address);
}

function fromClient(req, rinfo) {
  const key = `${rinfo.address}:${rinfo.port}:${req.mid}`;
  if (answered.has(key)) {  // a retransmission
    const d = answered.get(key);
    if (d) sock.send(d, rinfo.port, rinfo.address);
    return;
  }
  const pu = opt(req, OPT.PROXY_URI);
  const b2 = opt(req, OPT.BLOCK2);
  const nUri = req.options.filter((o) => URI_OPTS.includes(o.num)).length;
  let block2 = '-';
  if (b2) {
    const v = uintOf(b2.val);
    block2 = `${v >> 4}/${(v >> 3) & 1}/${16 << (v & 7)}`;
  }
  console.log(`proxy-uri=${pu ? pu.val.toString() : '-'} block2=${block2} uri-opts=${nUri}`);
  if (!pu) { answer(req, rinfo, CODE.PROXYING_NOT_SUPPORTED, [], 'no Proxy-Uri'); return; }
  if (nUri) { answer(req, rinfo, CODE.BAD_REQUEST, [], 'Uri-* or Proxy-Scheme beside Proxy-Uri'); return; }
  let target;
  try { target = new URL(pu.val.toString()); } catch (e) { target = null; }
  if (!target || target.protocol !== 'coap:') {
    answer(req, rinfo, CODE.PROXYING_NOT_SUPPORTED, [], 'coap:// targets only');
    return;
  }
  const options = req.options.filter((o) => o.num !== OPT.PROXY_URI);
  for (const seg of target.pathname.split('/').slice(1)) {
    if (seg !== '') options.push({ num: OPT.URI_PATH, val: Buffer.from(decodeURIComponent(seg)) });
  }
  for (const q of target.search.replace(/^\?/, '').split('&')) {
    if (q !== '') options.push({ num: OPT.URI_QUERY, val: Buffer.from(decodeURIComponent(q)) });
  }
  const token = Buffer.alloc(4);
  token.writeUInt32BE(tok++);
  const timer = setTimeout(() => {
    pending.delete(token.toString('hex'));
    answer(req, rinfo, CODE.GATEWAY_TIMEOUT, [], 'no answer from the target');
  }, 5000);
  pending.set(token.toString('hex'), { req, rinfo, timer });
  answered.set(key, null);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  sock.send(encode({ type: TYPE.CON, code: req.code, mid: mid++, token, options,
                     payload: req.payload }), parseInt(target.port || '5683', 10), host);
}

function fromTarget(resp, rinfo) {
  if (resp.type === TYPE.CON) {  // a separate response: ACK it
    sock.send(encode({ type: TYPE.ACK, code: 0, mid: resp.mid, token: Buffer.alloc(0) }),
              rinfo.port, rinfo.address);
  }
  if (resp.code === 0) return; // an empty ACK: the answer comes later
  const p = pending.get(resp.token.toString('hex'));
  if (!p) return;
  pending.delete(resp.token.toString('hex'));
  clearTimeout(p.timer);
  answer(p.req, p.rinfo, resp.code, resp.options, resp.payload);
}

sock.on('message', (b, rinfo) => {
  const m = parse(b);
  if (!m) return;
  if (m.code >= 1 && m.code <= 7 && (m.type === TYPE.CON || m.type === TYPE.NON)) fromClient(m, rinfo);
  else fromTarget(m, rinfo);
});

sock.bind(parseInt(process.argv[2], 10), '127.0.0.1', () => {
  console.log(`ready ${sock.address().port}`);
});
