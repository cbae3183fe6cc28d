// SPDX-License-Identifier: BSD-2-Clause
// server_observers.js - many node-coap observers of tern-server's /alarm,
// each on its own socket (RFC 7641 section 2: an observer is a client
// endpoint and a token; a client registers once per resource, section 3.1).
// Every one must hear of a change within 2 s; the ones beyond the server's
// limit must get a plain answer, without Observe (section 4.1).
// Usage: node server_observers.js PORT N_OBSERVERS LIMIT
// Prints "ok   - ..." / "FAIL - ..." lines; exits 0 when all passed.
'use strict';
const coap = require('coap');

const [port, n, limit] = process.argv.slice(2).map(Number);
const host = '127.0.0.1';
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok   -' : 'FAIL -'} ${what}`);
  if (!ok) failures++;
}

function put(value) {
  return new Promise((resolve, reject) => {
    const req = coap.request({ hostname: host, port, pathname: '/alarm', method: 'PUT',
                               agent: new coap.Agent({ type: 'udp4' }) });
    const timer = setTimeout(() => reject(new Error(`PUT ${value}: no answer in 10 s`)), 10000);
    req.on('response', (res) => { clearTimeout(timer); resolve(res); });
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.write(value);
    req.end();
  });
}

function observe() {
  return new Promise((resolve, reject) => {
    const agent = new coap.Agent({ type: 'udp4' });
    const req = coap.request({ hostname: host, port, pathname: '/alarm', observe: true, agent });
    const o = { seen: [], agent };
    const timer = setTimeout(() => reject(new Error('registration: no answer in 10 s')), 10000);
    req.on('response', (res) => {
      clearTimeout(timer);
      o.res = res;
      o.observing = res.headers.Observe !== undefined;
      res.on('data', (chunk) => o.seen.push(chunk.toString()));
      resolve(o);
    });
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end();
  });
}

function waitFor(pred, ms) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const poll = () => (pred() ? resolve(true) : Date.now() - t0 >= ms ? resolve(false) : setTimeout(poll, 10));
    poll();
  });
}

async function main() {
  await put('OFF');
  const obs = [];
  for (let i = 0; i < n; i++) obs.push(await observe());
  const admitted = obs.filter((o) => o.observing);
  check(admitted.length === Math.min(n, limit),
        `${admitted.length} of ${n} registrations admitted (limit ${limit})`);
  check(obs.slice(limit).every((o) => !o.observing),
        'registrations beyond the limit answered as a plain GET, without Observe');

  const t0 = Date.now();
  await put('ON');
  const all = await waitFor(() => admitted.every((o) => o.seen.includes('ON')), 2000);
  check(all, `every admitted observer notified of ON within 2 s (${Date.now() - t0} ms for the last)`);
  await put('OFF');
  const newest = await waitFor(() => admitted.every((o) => o.seen[o.seen.length - 1] === 'OFF'), 2000);
  check(newest, 'every admitted observer ends on the newest state, OFF');
  for (const o of obs) if (o.res) o.res.close();
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL - ${e.message}`); process.exit(1); });
