// The guide's gateways through the real socket.io-client 4.8 (websocket transport), beside a plain
// `ws` client in the same room:
//   node socketio_flow.mjs http://127.0.0.1:3000 <alice's token> <bob's token> <carol's token>
// Prints one line per step and exits 0 when every expectation held, 1 otherwise.
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { deadline, expectEqual, fail, once } from './check.mjs';
import './record.mjs';

const [base, aliceToken, bobToken, carolToken] = process.argv.slice(2);
if (!carolToken) {
  console.error('usage: node socketio_flow.mjs http://host:port <alice> <bob> <carol tokens>');
  process.exit(2);
}
const ROOM = '6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f';
const timer = deadline(20);

const options = (token) => ({ transports: ['websocket'], reconnection: false, ...(token ? { auth: { token } } : {}) });

// Two namespaces multiplexed over one connection (same Manager).
const events = io(`${base}/events`, options());
await once(events, 'connect');
expectEqual(await events.timeout(5000).emitWithAck('ping'), 'pong', 'ping acks "pong"');
events.emit('message', { text: 'hello' });
expectEqual((await once(events, 'message'))[0], { received: true }, 'a WsResponse reply is emitted as its event');
events.emit('boom', { a: 1 });
expectEqual((await once(events, 'exception'))[0], { status: 'error', message: 'test', cause: { pattern: 'boom', data: { a: 1 } } }, 'exception event, NestJS 12 shape');

const nowhere = io(`${base}/nowhere`, options());
expectEqual((await once(nowhere, 'connect_error'))[0].message, 'Invalid namespace', 'unknown namespace: connect_error');

// The chat gateway authenticates from the CONNECT auth payload.
const stranger = io(`${base}/chat`, { ...options(), forceNew: true });
const [strangerError, strangerGone] = [once(stranger, 'error'), once(stranger, 'disconnect')];
expectEqual((await strangerError)[0], { message: 'Authentication failed' }, 'no token: error event');
expectEqual((await strangerGone)[0], 'io server disconnect', 'no token: disconnected');

const alice = io(`${base}/chat`, { ...options(aliceToken), forceNew: true });
const bob = io(`${base}/chat`, { ...options(bobToken), forceNew: true });
await Promise.all([once(alice, 'connect'), once(bob, 'connect')]);
expectEqual(await alice.timeout(5000).emitWithAck('joinRoom', ROOM), { joined: ROOM }, 'alice joins (ack)');
expectEqual(await bob.timeout(5000).emitWithAck('joinRoom', ROOM), { joined: ROOM }, 'bob joins (ack)');

// Carol speaks NestJS's JSON format over plain ws, in the same room.
const carol = new WebSocket(`${base.replace('http', 'ws')}/chat?token=${carolToken}`);
const carolFrames = [];
const carolWaiters = [];
carol.on('message', (data) => {
  const frame = JSON.parse(data.toString());
  const waiter = carolWaiters.shift();
  if (waiter) waiter(frame); else carolFrames.push(frame);
});
const carolNext = () => (carolFrames.length ? Promise.resolve(carolFrames.shift()) : new Promise((r) => carolWaiters.push(r)));
await once(carol, 'open');
carol.send(JSON.stringify({ event: 'joinRoom', data: ROOM }));
for (;;) { const f = await carolNext(); if (f.joined) break; }

const bobGets = once(bob, 'newMessage');
expectEqual(await alice.timeout(5000).emitWithAck('sendMessage', { roomId: ROOM, message: 'hi all' }), { sent: true }, 'alice sends (ack)');
expectEqual((await bobGets)[0].message, 'hi all', 'bob (socket.io) gets newMessage');
for (;;) {
  const f = await carolNext();
  if (f.event === 'newMessage') { expectEqual([f.data.userId, f.data.message], ['alice', 'hi all'], 'carol (ws JSON) gets newMessage'); break; }
}

alice.emit('sendMessage', { roomId: 'general', message: '' });
const [errors] = await once(alice, 'exception');
expectEqual(errors.map((e) => e.property), ['roomId', 'message'], 'validation errors as an exception event');

for (const s of [events, alice, bob]) s.disconnect();
carol.close(1000);
clearTimeout(timer);
console.log('socket.io flow passed');
process.exit(0);
