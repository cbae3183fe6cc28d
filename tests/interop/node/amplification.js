// SPDX-License-Identifier: BSD-2-Clause
// amplification.js - the amplification bound of tern-server (RFC 7252
// section 11.3, RFC 9175 section 2.4) measured on every resource it
// serves. The peer of tests/interop/server_amplification.sh, on node's
// dgram alone so that it counts the bytes on the wire.
// Usage: node amplification.js PORT LIMIT
//
// The resource list comes from /.well-known/core, fetched the way a client
// that honours Echo does: the first answer is a 4.01 with an Echo (the
// listing is far larger than 3x the request), the request repeated with it
// gets the listing, block by block. Then every resource is asked by GET,
// GET with Observe, FETCH, POST, PUT, DELETE, PATCH and iPATCH, each from
// a socket of its own (a fresh address, never verified): every answer must
// be at most LIMIT times its request. Prints "ok   - ..." / "FAIL - ..."
// lines and the largest factor seen; exits 0 when all passed.
'use strict';
const dgram = require('dgram');

const [port, limit] = process.argv.slice(2).map(Number);
const host = '127.0.0.1';
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok   -' : 'FAIL -'} ${what}`);
  if (!ok) failures++;
}

// CoAP by hand. opts: [number, Buffer] in ascending order.
function ext(v) { return v < 13 ? [v, []] : v < 269 ? [13, [v - 13]] : [14, [(v - 269) >> 8, (v - 269) & 255]]; }
function msg(type, code, mid, token, opts, payload) {
  const parts = [Buffer.from([0x40 | type << 4 | token.length, code, mid >> 8, mid & 255]), token];
  let last = 0;
  for (const [num, val] of opts) {
    const [d, dx] = ext(num - last), [l, lx] = ext(val.length);
    parts.push(Buffer.from([d << 4 | l, ...dx, ...lx]), val);
    last = num;
  }
  if (payload && payload.length) parts.push(Buffer.from([0xff]), Buffer.from(payload));
  return Buffer.concat(parts);
}
function parse(b) {
  const tkl = b[0] & 15, m = { type: b[0] >> 4 & 3, code: b[1], mid: b.readUInt16BE(2), opts: [],
                                payload: Buffer.alloc(0) };
  let i = 4 + tkl, num = 0;
  while (i < b.length && b[i] !== 0xff) {
    let d = b[i] >> 4, l = b[i] & 15;
    i++;
    if (d === 13) d = 13 + b[i++]; else if (d === 14) { d = 269 + b.readUInt16BE(i); i += 2; }
    if (l === 13) l = 13 + b[i++]; else if (l === 14) { l = 269 + b.readUInt16BE(i); i += 2; }
    num += d;
    m.opts.push([num, b.subarray(i, i + l)]);
    i += l;
  }
  if (i < b.length) m.payload = b.subarray(i + 1);
  return m;
}
const opt = (m, n) => (m.opts.find(([k]) => k === n) || [0, null])[1];
const uint = (v) => { const a = []; while (v > 0) { a.unshift(v & 255); v >>= 8; } return Buffer.from(a); };
function pathOpts(path) {
  return path.split('/').filter((s) => s.length).map((s) => [11, Buffer.from(decodeURIComponent(s))]);
}

// One exchange from a fresh socket: send, wait for the first answer.
let mid = 0x3000;
function exchange(bytes, sock) {
  return new Promise((resolve) => {
    const own = !sock;
    const s = sock || dgram.createSocket('udp4');
    const done = (b) => { clearTimeout(t); s.removeAllListeners('message'); if (own) s.close(); resolve(b); };
    const t = setTimeout(() => done(null), 3000);
    s.on('message', (b) => done(b));
    s.send(bytes, port, host);
  });
}

async function wellKnownCore() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, host, r));
  let body = Buffer.alloc(0), num = 0, echo = null, challenged = false;
  for (let round = 0; round < 200; round++) {
    const opts = [];
    if (echo) opts.push([11, Buffer.from('.well-known')], [11, Buffer.from('core')]);
    else opts.push([11, Buffer.from('.well-known')], [11, Buffer.from('core')]);
    opts.push([23, uint(num << 4 | 2)]); // Block2 NUM/M=0/SZX 2 (64 bytes)
    if (echo) opts.push([252, echo]);
    const b = await exchange(msg(0, 1, ++mid, Buffer.from('wk'), opts), s);
    if (!b) break;
    const m = parse(b);
    if (m.code === 0x81 && opt(m, 252)) { echo = opt(m, 252); challenged = true; continue; }
    if (m.code !== 0x45) break;
    body = Buffer.concat([body, m.payload]);
    const b2 = opt(m, 23);
    const v = b2 ? b2.reduce((a, x) => a * 256 + x, 0) : 0;
    if (!b2 || !(v & 8)) { s.close(); return { body: body.toString(), challenged }; }
    num++;
  }
  s.close();
  return { body: null, challenged };
}

async function main() {
  const wk = await wellKnownCore();
  check(wk.challenged, '/.well-known/core from a new address: 4.01 with an Echo first');
  check(wk.body !== null, `...repeated with the Echo: the listing (${wk.body ? wk.body.length : 0} bytes)`);
  if (!wk.body) process.exit(1);
  const paths = ['/.well-known/core'];
  for (const m of wk.body.matchAll(/<([^>]+)>/g)) paths.push(m[1]);
  check(paths.length >= 15, `${paths.length} resources listed`);

  const methods = [['GET', 1, false], ['GET+Observe', 1, true], ['FETCH', 5, false],
                   ['POST', 2, false], ['PUT', 3, false], ['DELETE', 4, false],
                   ['PATCH', 6, false], ['iPATCH', 7, false]];
  let worst = 0, worstWhat = '', n = 0, over = [];
  for (const path of paths) {
    for (const [name, code, observe] of methods) {
      const opts = [];
      if (observe) opts.push([6, Buffer.alloc(0)]);
      opts.push(...pathOpts(path.split('?')[0]));
      const body = code >= 2 && code !== 4 ? 'x' : '';
      const req = msg(0, code, ++mid, Buffer.from([0x61]), opts, body);
      const b = await exchange(req);
      n++;
      if (!b) { over.push(`${name} ${path}: no answer`); continue; }
      const f = b.length / req.length;
      if (f > worst) { worst = f; worstWhat = `${name} ${path}: ${b.length} bytes to ${req.length}`; }
      if (f > limit) over.push(`${name} ${path}: ${b.length} bytes to ${req.length} (${f.toFixed(2)}x)`);
    }
  }
  check(over.length === 0, `${n} first requests from unverified addresses, every answer at most ${limit}x` +
        (over.length ? `; over: ${over.slice(0, 5).join('; ')}` : ''));
  console.log(`# largest factor: ${worst.toFixed(2)} (${worstWhat})`);
  process.exit(failures ? 1 : 0);
}
main().catch((e) => { console.log(`FAIL - ${e.stack}`); process.exit(1); });
