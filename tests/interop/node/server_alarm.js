// SPDX-License-Identifier: BSD-2-Clause
// server_alarm.js - drive tern-server's /alarm with node-coap (RFC 7252
// GET/PUT, RFC 7641 Observe with two observers at once).
// Usage: node server_alarm.js PORT   (exits 0 when every check passed; prints
// "ok   - ..." and "FAIL - ..." lines like tests/interop/lib/common.bash)
'use strict';
const coap = require('coap');

const port = Number(process.argv[2]);
const host = '127.0.0.1';
let failures = 0;

function check(ok, what) {
  console.log(`${ok ? 'ok   -' : 'FAIL -'} ${what}`);
  if (!ok) failures++;
}

function request(method, payload, extra) {
  return new Promise((resolve, reject) => {
    const req = coap.request(Object.assign({ hostname: host, port, pathname: '/alarm', method,
                                             agent: new coap.Agent({ type: 'udp4' }) }, extra));
    const timer = setTimeout(() => reject(new Error(`${method}: no answer in 10 s`)), 10000);
    req.on('response', (res) => { clearTimeout(timer); resolve(res); });
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// An observer: resolves with the stream once the first answer is there;
// every payload it gets is pushed to `seen` with the time it arrived.
function observe(name) {
  return new Promise((resolve, reject) => {
    const agent = new coap.Agent({ type: 'udp4' });
    const req = coap.request({ hostname: host, port, pathname: '/alarm', observe: true, agent });
    const seen = [];
    const timer = setTimeout(() => reject(new Error(`${name}: no answer in 10 s`)), 10000);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.on('data', (chunk) => seen.push({ value: chunk.toString(), at: Date.now() }));
      resolve({ res, seen, first: res.payload.toString(), observeOpt: res.headers.Observe });
    });
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end();
  });
}

function waitFor(pred, ms) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const poll = () => {
      if (pred()) return resolve(true);
      if (Date.now() - t0 >= ms) return resolve(false);
      setTimeout(poll, 10);
    };
    poll();
  });
}

async function main() {
  let res = await request('PUT', 'OFF');
  check(res.code === '2.04' && res.payload.toString() === 'OFF', `PUT OFF -> ${res.code} "${res.payload}"`);
  res = await request('GET');
  check(res.code === '2.05' && res.payload.toString() === 'OFF', `GET -> ${res.code} "${res.payload}"`);
  res = await request('PUT', 'BANANA');
  check(res.code === '4.00', `PUT BANANA -> ${res.code} "${res.payload}"`);
  res = await request('GET');
  check(res.payload.toString() === 'OFF', `state unchanged after the bad PUT: "${res.payload}"`);

  const a = await observe('observer A');
  const b = await observe('observer B');
  check(a.first === 'OFF' && b.first === 'OFF', `two observers registered, both see "${a.first}", "${b.first}"`);
  const t0 = Date.now();
  res = await request('PUT', 'ON');
  check(res.code === '2.04' && res.payload.toString() === 'ON', `PUT ON -> ${res.code} "${res.payload}"`);
  const has = (o, v) => o.seen.some((s) => s.value === v);
  const got = await waitFor(() => has(a, 'ON') && has(b, 'ON'), 1000);
  const late = (o) => { const s = o.seen.find((x) => x.value === 'ON'); return s ? s.at - t0 : -1; };
  check(got, `both observers notified of ON within 1 s (A ${late(a)} ms, B ${late(b)} ms)`);

  await request('PUT', 'OFF');
  const got2 = await waitFor(() => a.seen.filter((s) => s.value === 'OFF').length >= 1 &&
                                   b.seen.filter((s) => s.value === 'OFF').length >= 1, 1000);
  check(got2, 'both observers notified of OFF within 1 s');
  a.res.close();
  b.res.close();
  console.log(`# node-coap: ${failures ? `${failures} check(s) failed` : 'all checks passed'}`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL - ${e.message}`); process.exit(1); });
