// SPDX-License-Identifier: BSD-2-Clause
// client_alarm_server.js - the tutorial's alarm as a node-coap server, the
// peer of tern's client interop test (tests/interop/client_node.sh).
// RFC 7252: GET/PUT on /alarm; RFC 7641: GET with Observe=0 registers, every
// accepted PUT notifies all observers (res.write), RST or an ended stream
// removes one. Usage: node client_alarm_server.js PORT (0: the kernel picks
// one); prints "ready PORT" once listening.
'use strict';
const coap = require('coap');
const dgram = require('dgram');

const port = parseInt(process.argv[2], 10);
let state = 'OFF';
const observers = new Set();

const server = coap.createServer({ type: 'udp4' });
server.on('request', (req, res) => {
  const path = req.url.split('?')[0];
  if (path !== '/alarm') {
    res.code = '4.04';
    res.end('no such resource');
    return;
  }
  if (req.method === 'GET') {
    res.setOption('Content-Format', 'text/plain');
    if (req.headers.Observe === 0) {
      observers.add(res);
      res.on('finish', () => observers.delete(res));
      res.on('error', () => observers.delete(res));
      res.write(state);
    } else {
      res.end(state);
    }
    return;
  }
  if (req.method === 'PUT') {
    const value = req.payload.toString();
    if (value !== 'ON' && value !== 'OFF') {
      res.code = '4.00';
      res.end('payload must be ON or OFF');
      return;
    }
    state = value;
    res.code = '2.04';
    res.end(state);
    for (const o of observers) o.write(state);
    return;
  }
  res.code = '4.05';
  res.end();
});

// Bind the socket here so that the port the kernel picked for 0 is known.
const sock = dgram.createSocket('udp4');
sock.bind(port, '127.0.0.1', () => {
  server.listen(sock, () => console.log(`ready ${sock.address().port}`));
});
// Leave at once on SIGTERM: server.close() would wait for open observations.
process.on('SIGTERM', () => process.exit(0));
