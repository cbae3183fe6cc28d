// SPDX-License-Identifier: BSD-2-Clause
// bench_report.js - checks one `tern-bench --json` report (bench_tern_bench.sh).
// Functional checks only: every count adds up, nothing unmatched or lost on
// loopback, the fields a reader needs are there; no figure is compared with
// a time or a rate, which depend on the machine.
// Usage: node bench_report.js LABEL FILE load    CODE TYPE [REQUESTS [SEPARATE]]
//        node bench_report.js LABEL FILE observe N ROUNDS PUT_CODE
//        node bench_report.js LABEL FILE silent
// Prints "ok   - ..." / "FAIL - ..." lines; exits 0 when all passed.
'use strict';
const fs = require('fs');

const [label, file, kind, ...args] = process.argv.slice(2);
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok   -' : 'FAIL -'} ${label}: ${what}`);
  if (!ok) failures++;
}
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

let j;
try {
  const text = fs.readFileSync(file, 'utf8');
  check(text.trim().split('\n').length === 1, 'one line of JSON on stdout');
  j = JSON.parse(text);
  check(true, 'the report is JSON');
} catch (e) {
  check(false, `the report is JSON (${e.message})`);
  process.exit(1);
}

function latencyOrdered(l, what) {
  const keys = ['min', 'p50', 'p90', 'p99', 'p99_9', 'max'];
  check(l !== null && keys.every((k) => isNum(l[k])), `${what}: ${keys.join(', ')} are numbers`);
  if (l === null) return;
  check(keys.every((k, i) => i === 0 || l[keys[i - 1]] <= l[k]) && l.min > 0,
    `${what}: 0 < min <= p50 <= p90 <= p99 <= p99.9 <= max (${keys.map((k) => l[k]).join(' ')})`);
}

function zero(names) {
  for (const n of names) check(j[n] === 0, `${n} is 0 (${j[n]})`);
}

if (kind === 'load') {
  const [code, type, requests, separate] = args;
  check(j.mode === 'load' && j.type === type, `mode load, type ${type} (${j.mode}, ${j.type})`);
  check(j.answers > 0, `answers > 0 (${j.answers})`);
  check(j.codes[code] === j.answers, `every answer is ${code} (${JSON.stringify(j.codes)})`);
  check(j.requests === j.answers, `each request answered (${j.requests} sent, ${j.answers} answers)`);
  if (requests) check(j.requests === Number(requests), `${requests} requests (${j.requests})`);
  if (separate) {
    // RFC 7252 5.2.2: an Empty ACK first, then a CON answer that tern-bench ACKs.
    check(j.separate === Number(separate) && j.acks_sent === Number(separate),
      `${separate} separate responses, each ACKed (${j.separate}, ${j.acks_sent} ACKs sent)`);
  }
  check(isNum(j.rps) && j.rps > 0, `rps > 0 (${j.rps})`);
  check(isNum(j.duration_s) && isNum(j.elapsed_s) && j.elapsed_s >= j.duration_s,
    `duration_s <= elapsed_s (${j.duration_s}, ${j.elapsed_s})`);
  zero(['timeouts', 'rsts', 'unmatched', 'duplicates', 'late', 'malformed', 'abandoned',
    'send_errors']);
  if (type === 'NON') check(j.retransmissions === 0, `no retransmissions (${j.retransmissions})`);
  latencyOrdered(j.latency_us, 'latency_us');
} else if (kind === 'observe') {
  const [n, rounds, putCode] = args.map((a, i) => (i < 2 ? Number(a) : a));
  const r = j.register;
  check(j.mode === 'observe' && j.observers === n, `mode observe, ${n} observers`);
  check(r.confirmed === n, `all ${n} registrations confirmed (${JSON.stringify(r)})`);
  check(r.plain === 0 && r.failed === 0 && r.timeouts === 0, 'no plain, failed or timed-out registration');
  check(isNum(r.time_ms) && r.time_ms > 0, `registration time reported (${r.time_ms} ms)`);
  latencyOrdered(r.latency_us, 'register.latency_us');
  check(Array.isArray(j.rounds) && j.rounds.length === rounds, `${rounds} rounds (${j.rounds.length})`);
  j.rounds.forEach((rd, i) => {
    const w = `round ${i + 1}`;
    check(rd.put_code === putCode, `${w}: PUT ${rd.value} answered ${putCode} (${rd.put_code})`);
    check(rd.target === n && rd.notified === n, `${w}: ${rd.notified} of ${rd.target} notified, want ${n}`);
    check(isNum(rd.all_ms) && rd.p50_ms <= rd.p99_ms && rd.p99_ms <= rd.max_ms && rd.max_ms === rd.all_ms,
      `${w}: p50 <= p99 <= max = all (${rd.p50_ms} ${rd.p99_ms} ${rd.max_ms} ${rd.all_ms})`);
    if (i > 0) check(rd.value !== j.rounds[i - 1].value, `${w}: the value alternates (${rd.value})`);
  });
  check(j.notifications >= n * rounds, `notifications >= ${n * rounds} (${j.notifications})`);
  zero(['duplicates', 'other_payload', 'ended', 'unmatched', 'malformed', 'send_errors']);
} else if (kind === 'silent') {
  check(j.answers === 0 && j.requests > 0, `requests sent, none answered (${j.requests}, ${j.answers})`);
  check(JSON.stringify(j.codes) === '{}', 'no response codes');
  check(j.latency_us === null, 'latency_us is null');
} else {
  check(false, `unknown kind ${kind}`);
}
process.exit(failures ? 1 : 0);
