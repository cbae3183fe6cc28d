// SPDX-License-Identifier: BSD-2-Clause
// icmp_observer.js - an observer of tern-server's /alarm that receives
// forged ICMP errors about it (RFC 8085 section 5.2; RFC 7641 section 4.5).
// The peer of tests/interop/server_icmp_forged.sh, written on node's dgram
// alone so that it sees each notification's exact bytes.
// Usage: node icmp_observer.js SERVER_PORT ICMP_FORGE
// ICMP_FORGE is tests/tools/icmp_forge (built). Prints "ok   - ..." /
// "FAIL - ..." lines; exits 0 when all passed.
'use strict';
const dgram = require('dgram');
const { execFileSync } = require('child_process');

const port = Number(process.argv[2]);
const forge = process.argv[3];
const host = '127.0.0.1';
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok   -' : 'FAIL -'} ${what}`);
  if (!ok) failures++;
}

// CoAP by hand: header, token, options in order (one byte deltas suffice).
function msg(type, code, mid, token, opts, payload) {
  const parts = [Buffer.from([0x40 | type << 4 | token.length, code, mid >> 8, mid & 255]), token];
  let last = 0;
  for (const [num, val] of opts) {
    const v = Buffer.from(val);
    parts.push(Buffer.from([(num - last) << 4 | v.length]), v);
    last = num;
  }
  if (payload) parts.push(Buffer.from([0xff]), Buffer.from(payload));
  return Buffer.concat(parts);
}
function parse(b) {
  const tkl = b[0] & 15;
  const m = { type: b[0] >> 4 & 3, code: b[1], mid: b.readUInt16BE(2),
              token: b.subarray(4, 4 + tkl), payload: '' };
  const i = b.indexOf(0xff, 4 + tkl);
  if (i >= 0) m.payload = b.subarray(i + 1).toString();
  return m;
}

const obs = dgram.createSocket('udp4');
const cli = dgram.createSocket('udp4');
const heard = [];      // notifications to obs: { m, bytes }
let answer = null;     // resolves the pending PUT
obs.on('message', (b) => heard.push({ m: parse(b), bytes: b }));
cli.on('message', (b) => { if (answer) answer(parse(b)); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let mid = 0x2000;
async function put(value) {
  const got = new Promise((r) => { answer = r; setTimeout(() => r(null), 5000); });
  cli.send(msg(0, 3, ++mid, Buffer.from('pp'), [[11, 'alarm']], value), port, host);
  const m = await got;
  answer = null;
  return m && m.code === 0x44; // 2.04
}
// Wait up to ms for a notification with this payload; null if none came.
async function notified(value, ms) {
  for (let t = 0; t < ms; t += 20) {
    const n = heard.find((h) => h.m.payload === value);
    if (n) return n;
    await sleep(20);
  }
  return null;
}
function icmp(quoteHex) {
  execFileSync(forge, [String(port), String(obs.address().port), quoteHex]);
}

async function main() {
  await new Promise((r) => obs.bind(0, host, r));
  await new Promise((r) => cli.bind(0, host, r));
  check(await put('OFF'), 'PUT OFF');
  // Register: GET /alarm with Observe 0 (option 6), token "ob".
  obs.send(msg(0, 1, 0x1001, Buffer.from('ob'), [[6, ''], [11, 'alarm']]), port, host);
  const reg = await notified('OFF', 3000);
  check(reg && reg.m.code === 0x45, 'registered: 2.05 OFF');
  heard.length = 0;

  // Forgeries that name nothing the server sent: the observer stays.
  icmp('');                       // only the IP and UDP headers quoted
  icmp('5045ffff');               // a NON 2.05 with a MID never used
  icmp('52450001' + '7878');      // a token that is not the observer's
  icmp('42011001' + '6f62');      // a CON GET: the observer's own request
  await sleep(100);
  check(await put('ON'), 'PUT ON after four forged ICMP errors');
  const n1 = await notified('ON', 3000);
  check(n1 !== null, 'the observer still hears of the change: ON');

  // The same forgery, quoting the notification it got word for word, does
  // name it: the server takes the observer for gone (section 4.5). This
  // also shows the forged errors above reached the server's socket.
  if (n1) {
    heard.length = 0;
    icmp(n1.bytes.toString('hex'));
    await sleep(100);
    check(await put('OFF'), 'PUT OFF after an ICMP error quoting the notification');
    check(await notified('OFF', 1500) === null,
          'no notification to the observer the error named: it was removed');
  }
  obs.close();
  cli.close();
  process.exit(failures ? 1 : 0);
}
main().catch((e) => { console.log(`FAIL - ${e.message}`); process.exit(1); });
