// SPDX-License-Identifier: BSD-2-Clause
// cli_formats.js - a CoAP server answering in the Content-Formats that
// `tern` formats (JSON, SenML, CBOR, link-format, octet-stream), with
// chosen options for `tern -i`, FETCH/PATCH/iPATCH (RFC 8132) and one
// observable JSON resource: the peer of tests/interop/cli_output.sh.
// node's dgram only (cli_coap.js), so that the bytes are exactly these.
// Usage: node cli_formats.js PORT (0: the kernel picks); prints "ready PORT",
// then one line per request: "METHOD /path cf=N payload=TEXT".
//
//   GET /json /senml /badjson /bigjson     JSON (50, SenML 110), one malformed,
//                                          one with an integer beyond 2^53
//   GET /cbor /senml-cbor /badcbor         CBOR (60, SenML 112), one truncated
//   GET /links /badlinks                   link-format (40)
//   GET /octet                             octet-stream (42), ends in 0x0a
//   GET /opts                              text with ETag, Location-Path,
//                                          Max-Age and elective option 65000
//   FETCH|PATCH|iPATCH /things             "METHOD cf=N PAYLOAD" (2.05 / 2.04)
//   GET /silent                            no answer at all
//   GET /obs-json with Observe 0           2.05 Observe 1, then 150 ms later a
//                                          CON notification Observe 2
'use strict';
const dgram = require('dgram');
const { OPT, TYPE, CODE, METHOD_NAME, parse, encode, uint, uintOf, opt, opts } =
  require('./cli_coap');

const JSON_DOC = '{"temp":21.5,"unit":"Cel","tags":["kitchen","north"],"ok":true,"err":null,' +
  '"nested":{"a":[]}}';
const SENML_JSON = '[{"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1}]';
// {"n": "temp", "v": 21.5, "ok": true, "raw": h'01ff', "list": [1, -2, null, undefined],
//  "t": 1(1700000000), "m": {_ "a": 1}, "s": "a\"b\n", "f": 1.0e+300}
const CBOR_DOC = Buffer.from([
  0xa9,
  0x61, 0x6e, 0x64, 0x74, 0x65, 0x6d, 0x70,             // "n": "temp"
  0x61, 0x76, 0xf9, 0x4d, 0x60,                         // "v": 21.5 (half float)
  0x62, 0x6f, 0x6b, 0xf5,                               // "ok": true
  0x63, 0x72, 0x61, 0x77, 0x42, 0x01, 0xff,             // "raw": h'01ff'
  0x64, 0x6c, 0x69, 0x73, 0x74, 0x84, 0x01, 0x21, 0xf6, 0xf7, // "list": [1, -2, null, undefined]
  0x61, 0x74, 0xc1, 0x1a, 0x65, 0x53, 0xf1, 0x00,       // "t": 1(1700000000)
  0x61, 0x6d, 0xbf, 0x61, 0x61, 0x01, 0xff,             // "m": {_ "a": 1}
  0x61, 0x73, 0x64, 0x61, 0x22, 0x62, 0x0a,             // "s": "a\"b\n"
  0x61, 0x66, 0xfb, 0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75, 0x9c, // "f": 1.0e+300
]);
// SenML+CBOR (RFC 8428 section 6: bn -2, n 0, u 1, v 2):
// [{-2: "urn:dev:ow:10e2073a01080063:", 0: "temp", 1: "Cel", 2: 23.1}]
const SENML_CBOR = Buffer.concat([
  Buffer.from([0x81, 0xa4, 0x21, 0x78, 0x1c]), Buffer.from('urn:dev:ow:10e2073a01080063:'),
  Buffer.from([0x00, 0x64]), Buffer.from('temp'), Buffer.from([0x01, 0x63]), Buffer.from('Cel'),
  Buffer.from([0x02, 0xfb, 0x40, 0x37, 0x19, 0x99, 0x99, 0x99, 0x99, 0x9a]),
]);
const BAD_CBOR = Buffer.from([0xa2, 0x61, 0x61, 0x01]); // a map of two with one pair
const OCTETS = Buffer.from([0x00, 0x01, 0x02, 0xfe, 0xff, 0x0a]);
const LINKS = '</sensors/temp>;rt="temperature";if="sensor",</sensors/light>;ct=0';

const GETS = {
  json: [50, JSON_DOC], senml: [110, SENML_JSON], badjson: [50, '{"temp": 21.5,'],
  bigjson: [50, '{"id":12345678901234567890}'],
  cbor: [60, CBOR_DOC], 'senml-cbor': [112, SENML_CBOR], badcbor: [60, BAD_CBOR],
  links: [40, LINKS], badlinks: [40, 'not a link'], octet: [42, OCTETS],
};

const sock = dgram.createSocket('udp4');
const answered = new Map(); // "addr:port:mid" -> the datagram sent in answer
let nextMid = 0x4000;

function reply(req, rinfo, code, options, payload) {
  const d = encode({ type: req.type === TYPE.CON ? TYPE.ACK : TYPE.NON, code,
                     mid: req.type === TYPE.CON ? req.mid : nextMid++, token: req.token,
                     options, payload: Buffer.from(payload || '') });
  answered.set(`${rinfo.address}:${rinfo.port}:${req.mid}`, d);
  sock.send(d, rinfo.port, rinfo.address);
}
const cf = (n) => ({ num: OPT.CONTENT_FORMAT, val: uint(n) });

sock.on('message', (b, rinfo) => {
  const req = parse(b);
  if (!req || (req.type !== TYPE.CON && req.type !== TYPE.NON) || req.code < 1 || req.code > 7) return;
  const again = answered.get(`${rinfo.address}:${rinfo.port}:${req.mid}`);
  if (again) { sock.send(again, rinfo.port, rinfo.address); return; }
  const path = opts(req, OPT.URI_PATH).map((o) => o.val.toString()).join('/');
  const reqCf = opt(req, OPT.CONTENT_FORMAT);
  console.log(`${METHOD_NAME[req.code]} /${path} cf=${reqCf ? uintOf(reqCf.val) : '-'} ` +
              `payload=${req.payload.toString()}`);
  if (path === 'things' && [CODE.FETCH, CODE.PATCH, CODE.IPATCH].includes(req.code)) {
    const text = `${METHOD_NAME[req.code]} cf=${reqCf ? uintOf(reqCf.val) : '-'} ${req.payload}`;
    reply(req, rinfo, req.code === CODE.FETCH ? CODE.CONTENT : CODE.CHANGED, [cf(0)], text);
    return;
  }
  if (path === 'silent') return;
  if (req.code !== CODE.GET) { reply(req, rinfo, CODE.METHOD_NOT_ALLOWED, [], ''); return; }
  if (GETS[path]) { reply(req, rinfo, CODE.CONTENT, [cf(GETS[path][0])], GETS[path][1]); return; }
  if (path === 'opts') {
    reply(req, rinfo, CODE.CONTENT, [
      { num: OPT.ETAG, val: Buffer.from([0x01, 0x02]) },
      { num: OPT.LOCATION_PATH, val: Buffer.from('a"b\\c\n') },
      cf(0), { num: OPT.MAX_AGE, val: uint(30) },
      { num: 65000, val: Buffer.from([0xbe, 0xef]) },
    ], 'x');
    return;
  }
  if (path === 'obs-json') {
    const obs = opt(req, OPT.OBSERVE);
    if (!obs || uintOf(obs.val) !== 0) { reply(req, rinfo, CODE.CONTENT, [cf(50)], '{"n":0}'); return; }
    reply(req, rinfo, CODE.CONTENT, [{ num: OPT.OBSERVE, val: uint(1) }, cf(50)],
          '{"n": 1,\n "v": [1, 2]}');
    setTimeout(() => {
      sock.send(encode({ type: TYPE.CON, code: CODE.CONTENT, mid: nextMid++, token: req.token,
                         options: [{ num: OPT.OBSERVE, val: uint(2) }, cf(50)],
                         payload: Buffer.from('{"n": 2,\n "v": [3, 4]}') }),
                rinfo.port, rinfo.address);
    }, 150);
    return;
  }
  reply(req, rinfo, CODE.NOT_FOUND, [], '');
});

sock.bind(parseInt(process.argv[2], 10), '127.0.0.1', () => {
  console.log(`ready ${sock.address().port}`);
});
