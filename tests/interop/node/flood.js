// SPDX-License-Identifier: BSD-2-Clause
// flood.js - a flood of spoofed one-way Observe registrations against
// tern-server's /alarm, then a real client that must still get an
// observation (RFC 7641 sections 4.1 and 4.5). The peer of
// tests/interop/server_flood.sh, on node's dgram alone.
// Usage: node flood.js PORT ADDRESSES TOKENS
//
// The flood: from each of ADDRESSES loopback addresses (127.0.0.2 on), one
// socket sends TOKENS NON GET /alarm with Observe 0, 14 bytes each, and
// never reads: what a spoofer, who never sees the answers, does. Then a
// real client on 127.0.0.1 registers with a CON, again once a second while
// it is served a plain GET, answering every confirmable message it gets;
// it must be registered within 15 s and then hear of a change.
'use strict';
const dgram = require('dgram');

const [port, naddr, ntok] = process.argv.slice(2).map(Number);
const host = '127.0.0.1';
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok   -' : 'FAIL -'} ${what}`);
  if (!ok) failures++;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function get(type, mid, token, observe) {
  const parts = [Buffer.from([0x40 | type << 4 | token.length, 1, mid >> 8, mid & 255]), token];
  if (observe) parts.push(Buffer.from([0x60]));             // Observe (6), empty: 0
  parts.push(Buffer.from([observe ? 0x55 : 0xb5]), Buffer.from('alarm')); // Uri-Path (11)
  return Buffer.concat(parts);
}
function parse(b) {
  const tkl = b[0] & 15, m = { type: b[0] >> 4 & 3, code: b[1], mid: b.readUInt16BE(2),
                                token: b.subarray(4, 4 + tkl), observe: false, payload: '' };
  let i = 4 + tkl, num = 0;
  while (i < b.length && b[i] !== 0xff) {
    let d = b[i] >> 4, l = b[i] & 15;
    i++;
    if (d === 13) d = 13 + b[i++]; else if (d === 14) { d = 269 + b.readUInt16BE(i); i += 2; }
    if (l === 13) l = 13 + b[i++]; else if (l === 14) { l = 269 + b.readUInt16BE(i); i += 2; }
    num += d;
    if (num === 6) m.observe = true;
    i += l;
  }
  if (i < b.length) m.payload = b.subarray(i + 1).toString();
  return m;
}

async function main() {
  // The flood.
  const spoofers = [];
  let sent = 0, bytes = 0;
  for (let a = 0; a < naddr; a++) {
    const s = dgram.createSocket('udp4');
    const addr = `127.0.${(a + 2) >> 8}.${(a + 2) & 255}`;
    await new Promise((r) => s.bind(0, addr, r));
    s.on('message', () => {}); // read nothing: the kernel buffer fills, unseen
    spoofers.push(s);
    for (let t = 0; t < ntok; t++) {
      const d = get(1, (a * ntok + t) & 0xffff, Buffer.from([a >> 8, a & 255, t]), true);
      s.send(d, port, host);
      sent++;
      bytes = d.length;
    }
  }
  console.log(`# flood: ${sent} NON registrations of ${bytes} bytes from ${naddr} addresses`);
  await sleep(200);

  // The real client.
  const c = dgram.createSocket('udp4');
  await new Promise((r) => c.bind(0, host, r));
  let registered = false, notified = null, mid = 0x7000;
  c.on('message', (b) => {
    const m = parse(b);
    if (m.type === 0) c.send(Buffer.from([0x60, 0, b[2], b[3]]), port, host); // ACK a CON
    if (m.token.toString() !== 'real') return;
    if (m.code === 0x45 && m.observe && !registered) registered = Date.now();
    else if (registered && m.code === 0x45 && m.payload === 'ON') notified = Date.now();
  });
  const start = Date.now();
  let tries = 0;
  while (!registered && Date.now() - start < 15000) {
    c.send(get(0, ++mid, Buffer.from('real'), true), port, host);
    tries++;
    for (let i = 0; i < 20 && !registered; i++) await sleep(50);
  }
  check(tries > 1, 'the flood had filled the table: the first try was served a plain GET');
  check(registered, `the real client registered after the flood (${tries} tries, ` +
        `${registered ? registered - start : '-'} ms)`);

  // A change reaches it.
  const p = dgram.createSocket('udp4');
  await new Promise((r) => p.bind(0, host, r));
  const put = Buffer.concat([Buffer.from([0x41, 3, 0x66, 0x01, 0x70]), Buffer.from([0xb5]),
                             Buffer.from('alarm'), Buffer.from([0xff]), Buffer.from('ON')]);
  const putAt = Date.now();
  p.send(put, port, host);
  for (let i = 0; i < 60 && !notified; i++) await sleep(50);
  check(notified !== null, `...and is notified of ON (${notified ? notified - putAt : '-'} ms)`);
  for (const s of spoofers) s.close();
  c.close();
  p.close();
  process.exit(failures ? 1 : 0);
}
main().catch((e) => { console.log(`FAIL - ${e.stack}`); process.exit(1); });
