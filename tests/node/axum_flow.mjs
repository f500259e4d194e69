// The axum_app example (gateways and REST on one axum port) through real clients: plain
// HTTP(S) for the REST routes, npm `ws` for the JSON format, socket.io-client on every
// transport (polling only, websocket only, polling upgraded to websocket):
//   node axum_flow.mjs http(s)://127.0.0.1:PORT <alice's token> <bob's token> [CA_FILE]
// With a CA file, the base is https and every client trusts only that CA (wss://).
// Prints one line per step and exits 0 when every expectation held, 1 otherwise.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { deadline, expectEqual, fail, once } from './check.mjs';

const [base, aliceToken, bobToken, caFile] = process.argv.slice(2);
if (!bobToken) {
  console.error('usage: node axum_flow.mjs http(s)://host:port <alice> <bob> [ca.pem]');
  process.exit(2);
}
const ca = caFile ? readFileSync(caFile) : undefined;
const tls = ca ? { ca } : {};
const ROOM = 'r1';
const timer = deadline(20);

/** One HTTP request; resolves to [status, parsed JSON body or text]. */
function request(method, path, { body, token } = {}) {
  const client = base.startsWith('https') ? https : http;
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = client.request(`${base}${path}`, { method, headers, ...tls }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* plain text */ }
        resolve([res.statusCode, parsed]);
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

// REST beside the gateways, on the same port.
expectEqual(await request('GET', '/health'), [200, { status: 'ok' }], 'GET /health');
expectEqual((await request('POST', `/rooms/${ROOM}/messages`, { body: { message: 'x' } }))[0], 401, 'POST without a token: 401');
expectEqual((await request('POST', `/rooms/${ROOM}/messages`, { body: { message: '' }, token: aliceToken }))[0], 400, 'POST an empty message: 400');

// The JSON format over ws(s).
const wsBase = base.replace(/^http/, 'ws');
const bob = new WebSocket(`${wsBase}/chat?token=${bobToken}`, tls);
const bobFrames = [];
const bobWaiters = [];
bob.on('message', (data) => {
  const frame = JSON.parse(data.toString());
  const waiter = bobWaiters.shift();
  if (waiter) waiter(frame); else bobFrames.push(frame);
});
const bobNext = () => (bobFrames.length ? Promise.resolve(bobFrames.shift()) : new Promise((r) => bobWaiters.push(r)));
await once(bob, 'open');
bob.send(JSON.stringify({ event: 'joinRoom', data: ROOM }));
for (;;) { const f = await bobNext(); if (f.joined) { expectEqual(f, { joined: ROOM }, 'ws: bob joins the room'); break; } }

// A REST request reaches the room through the gateway's namespace.
expectEqual(await request('POST', `/rooms/${ROOM}/messages`, { body: { message: 'from REST' }, token: aliceToken }), [201, { sent: true }], 'POST /rooms/r1/messages: 201');
for (;;) {
  const f = await bobNext();
  if (f.event === 'newMessage') { expectEqual([f.data.userId, f.data.message], ['alice', 'from REST'], 'ws: bob gets newMessage from REST'); break; }
}

// socket.io-client on every transport.
for (const [name, transports] of [['polling', ['polling']], ['websocket', ['websocket']], ['upgrade', ['polling', 'websocket']]]) {
  const alice = io(`${base}/chat`, { transports, forceNew: true, reconnection: false, auth: { token: aliceToken }, ...tls });
  await once(alice, 'connect');
  expectEqual(await alice.timeout(5000).emitWithAck('joinRoom', ROOM), { joined: ROOM }, `socket.io ${name}: joins (ack)`);
  const heard = once(alice, 'newMessage');
  expectEqual(await request('POST', `/rooms/${ROOM}/messages`, { body: { message: name }, token: bobToken }), [201, { sent: true }], `socket.io ${name}: REST post`);
  expectEqual((await heard)[0].message, name, `socket.io ${name}: gets newMessage`);
  if (name === 'upgrade') {
    if (alice.io.engine.transport.name !== 'websocket') await once(alice.io.engine, 'upgrade');
    expectEqual(alice.io.engine.transport.name, 'websocket', 'socket.io upgrade: now on websocket');
    expectEqual(await alice.timeout(5000).emitWithAck('joinRoom', ROOM), { joined: ROOM }, 'socket.io upgrade: acks after the upgrade');
  }
  alice.disconnect();
}

bob.close(1000);
await once(bob, 'close');
clearTimeout(timer);
console.log('axum flow passed');
process.exit(0);
