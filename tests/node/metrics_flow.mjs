// The chat example's gateways through the real npm socket.io-client (`/chat`) and `ws`
// (`/events`), so that `GET /metrics` has something to count:
//   node metrics_flow.mjs http://127.0.0.1:3000 <token>
// Prints one line per step and exits 0 when every expectation held, 1 otherwise.
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { deadline, expectEqual, once } from './check.mjs';

const [base, token] = process.argv.slice(2);
const ROOM = '6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f';
const timer = deadline(20);

const chat = io(`${base}/chat`, { transports: ['websocket'], reconnection: false, auth: { token } });
await once(chat, 'connect');
expectEqual(await chat.timeout(5000).emitWithAck('joinRoom', ROOM), { joined: ROOM }, 'joinRoom acked');
chat.emit('sendMessage', { roomId: 'general', message: 'hi' });
await once(chat, 'exception');
console.log('ok - an invalid room: exception');
chat.close();

const events = new WebSocket(`${base.replace('http', 'ws')}/events`);
await once(events, 'open');
events.send(JSON.stringify({ event: 'message', data: { text: 'hi' } }));
expectEqual(JSON.parse((await once(events, 'message'))[0]), { event: 'message', data: { received: true } }, 'events: message answered');
events.close();
await once(events, 'close');

clearTimeout(timer);
console.log('metrics flow passed');
