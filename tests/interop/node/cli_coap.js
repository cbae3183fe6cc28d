// SPDX-License-Identifier: BSD-2-Clause
// cli_coap.js - just enough of the CoAP message format (RFC 7252 section 3)
// for the peers of tests/interop/cli_output.sh, on node's dgram alone: the
// tests want exact bytes on the wire (CBOR written out literally, options
// chosen one by one), which a library would tidy up. Not a script: the
// module that cli_formats.js and cli_proxy.js require.
'use strict';

const OPT = {
  IF_MATCH: 1, URI_HOST: 3, ETAG: 4, OBSERVE: 6, URI_PORT: 7, LOCATION_PATH: 8,
  URI_PATH: 11, CONTENT_FORMAT: 12, MAX_AGE: 14, URI_QUERY: 15, ACCEPT: 17,
  BLOCK2: 23, BLOCK1: 27, SIZE2: 28, PROXY_URI: 35, PROXY_SCHEME: 39, SIZE1: 60,
};
const TYPE = { CON: 0, NON: 1, ACK: 2, RST: 3 };
const code = (c, dd) => (c << 5) | dd;
const CODE = {
  GET: 1, POST: 2, PUT: 3, DELETE: 4, FETCH: 5, PATCH: 6, IPATCH: 7,
  CHANGED: code(2, 4), CONTENT: code(2, 5), BAD_REQUEST: code(4, 0), BAD_OPTION: code(4, 2),
  NOT_FOUND: code(4, 4), METHOD_NOT_ALLOWED: code(4, 5), GATEWAY_TIMEOUT: code(5, 4),
  PROXYING_NOT_SUPPORTED: code(5, 5),
};
const METHOD_NAME = { 1: 'GET', 2: 'POST', 3: 'PUT', 4: 'DELETE', 5: 'FETCH', 6: 'PATCH', 7: 'iPATCH' };

// A datagram into { type, code, mid, token, options: [{ num, val }], payload }, or null.
function parse(b) {
  if (b.length < 4 || b[0] >> 6 !== 1) return null;
  const tkl = b[0] & 15;
  if (tkl > 8 || b.length < 4 + tkl) return null;
  const m = {
    type: (b[0] >> 4) & 3, code: b[1], mid: b.readUInt16BE(2),
    token: Buffer.from(b.subarray(4, 4 + tkl)), options: [], payload: Buffer.alloc(0),
  };
  let i = 4 + tkl, num = 0;
  while (i < b.length) {
    if (b[i] === 0xff) { m.payload = Buffer.from(b.subarray(i + 1)); break; }
    let d = b[i] >> 4, l = b[i] & 15;
    i++;
    if (d === 15 || l === 15) return null; // 15 is the payload marker's alone
    if (d === 13) d = 13 + b[i++]; else if (d === 14) { d = 269 + b.readUInt16BE(i); i += 2; }
    if (l === 13) l = 13 + b[i++]; else if (l === 14) { l = 269 + b.readUInt16BE(i); i += 2; }
    if (i + l > b.length) return null;
    num += d;
    m.options.push({ num, val: Buffer.from(b.subarray(i, i + l)) });
    i += l;
  }
  return m;
}

function ext(n) {  // nibble and extension bytes of a delta or length
  if (n < 13) return [n, []];
  if (n < 269) return [13, [n - 13]];
  return [14, [(n - 269) >> 8, (n - 269) & 255]];
}

// { type, code, mid, token, options, payload } into a datagram (options sorted).
function encode(m) {
  const parts = [Buffer.from([0x40 | (m.type << 4) | m.token.length, m.code, m.mid >> 8, m.mid & 255]),
                 m.token];
  let prev = 0;
  for (const o of [...(m.options || [])].sort((a, b) => a.num - b.num)) {
    const [dn, de] = ext(o.num - prev), [ln, le] = ext(o.val.length);
    parts.push(Buffer.from([(dn << 4) | ln, ...de, ...le]), o.val);
    prev = o.num;
  }
  if (m.payload && m.payload.length) parts.push(Buffer.from([0xff]), Buffer.from(m.payload));
  return Buffer.concat(parts);
}

function uint(v) {  // minimal uint option value (section 3.2)
  const out = [];
  while (v > 0) { out.unshift(v & 255); v = Math.floor(v / 256); }
  return Buffer.from(out);
}
const uintOf = (val) => val.reduce((a, x) => a * 256 + x, 0);
const opt = (m, num) => m.options.find((o) => o.num === num);
const opts = (m, num) => m.options.filter((o) => o.num === num);

module.exports = { OPT, TYPE, CODE, METHOD_NAME, parse, encode, uint, uintOf, opt, opts };
