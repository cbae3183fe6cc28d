// SPDX-License-Identifier: BSD-2-Clause
// odd_server.js - a CoAP server that answers the way a careless or hostile
// one might, written on node's dgram alone (no CoAP library: the point is
// to send what a library would not). The peer of
// tests/interop/client_odd_server.sh. Usage: node odd_server.js PORT (0: the
// kernel picks one); prints "ready PORT" once listening.
//
// Each CON GET is answered by its last Uri-Path segment:
//   many      ACK 2.05 with 300 elective options (number 2050) and "ok"
//   critical  first an ACK 2.05 with the critical option 65001 and "bogus";
//             the retransmission (same MID) gets a clean ACK with "real"
//   szx7      ACK 2.05 with Block2 NUM 0, M 1, SZX 7 and 1024 bytes of 'x'
//   wrongmid  an ACK with the right token and MID+1 saying "spoof", then
//             the right ACK with "real"
'use strict';
const dgram = require('dgram');

const sock = dgram.createSocket('udp4');
const seen = new Map(); // "addr:port:mid" -> count

function parse(b) {
  if (b.length < 4 || b[0] >> 6 !== 1) return null;
  const type = (b[0] >> 4) & 3, tkl = b[0] & 15;
  const m = { type, code: b[1], mid: b.readUInt16BE(2), token: b.subarray(4, 4 + tkl), path: [] };
  let i = 4 + tkl, num = 0;
  while (i < b.length && b[i] !== 0xff) {
    let d = b[i] >> 4, l = b[i] & 15;
    i++;
    if (d === 13) d = 13 + b[i++]; else if (d === 14) { d = 269 + b.readUInt16BE(i); i += 2; }
    if (l === 13) l = 13 + b[i++]; else if (l === 14) { l = 269 + b.readUInt16BE(i); i += 2; }
    num += d;
    if (num === 11) m.path.push(b.subarray(i, i + l).toString());
    i += l;
  }
  return m;
}

function ack(req, mid, opts, payload) {
  const head = Buffer.from([0x60 | req.token.length, 0x45, mid >> 8 & 255, mid & 255]);
  return Buffer.concat([head, req.token, opts, payload.length ? Buffer.from([0xff]) : Buffer.alloc(0),
                        Buffer.from(payload)]);
}

sock.on('message', (b, rinfo) => {
  const req = parse(b);
  if (!req || req.type !== 0 || req.code !== 1) return;
  const key = `${rinfo.address}:${rinfo.port}:${req.mid}`;
  const n = (seen.get(key) || 0) + 1;
  seen.set(key, n);
  const send = (d) => sock.send(d, rinfo.port, rinfo.address);
  switch (req.path[req.path.length - 1]) {
    case 'many': {
      // Option 2050: delta nibble 14, extended 2050 - 269 = 0x06F5; then
      // 299 more with delta 0; each one byte long.
      const parts = [Buffer.from([0xe1, 0x06, 0xf5, 0x65])];
      for (let k = 1; k < 300; k++) parts.push(Buffer.from([0x01, 0x65]));
      send(ack(req, req.mid, Buffer.concat(parts), 'ok'));
      break;
    }
    case 'critical':
      if (n === 1) send(ack(req, req.mid, Buffer.from([0xe1, 0xfd, 0xde, 0x78]), 'bogus')); // 65001
      else send(ack(req, req.mid, Buffer.alloc(0), 'real'));
      break;
    case 'szx7':
      // Block2 (23): delta nibble 13, extended 10; length 1; NUM 0, M, SZX 7.
      send(ack(req, req.mid, Buffer.from([0xd1, 0x0a, 0x0f]), 'x'.repeat(1024)));
      break;
    case 'wrongmid':
      send(ack(req, (req.mid + 1) & 0xffff, Buffer.alloc(0), 'spoof'));
      setTimeout(() => send(ack(req, req.mid, Buffer.alloc(0), 'real')), 50);
      break;
    default:
      break;
  }
});

sock.bind(parseInt(process.argv[2], 10), '127.0.0.1', () => {
  console.log(`ready ${sock.address().port}`);
});
