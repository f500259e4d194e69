// Raw Engine.IO v4 / Socket.IO v5 packets over a WebSocket: what each server does with packets
// socket.io-client would never send. Every text frame and the close code/reason are recorded.
import { ioMessagePacketOfSize } from '../lib/constants.mjs';

/**
 * Opens a raw session, CONNECTs `namespaces` (default /events), then sends each step (a string
 * is a text frame, a Buffer a binary frame, a function runs) and settles after each.
 */
const raw = (name, steps, { namespaces = ['/events'], settle } = {}) => ({
  name: `raw packets: ${name}`,
  format: 'io',
  async run(t) {
    const c = t.raw('client');
    const resolved = namespaces.map((n) => (typeof n === 'function' ? n(t) : n));
    await c.handshake(...resolved);
    for (const step of steps) {
      if (typeof step === 'function') await step(c, t);
      else c.send(step);
      await c.settle(settle);
    }
  },
});

const chatAs = (sub) => (t) => ['/chat', { token: t.tokens.valid(sub) }];
const CHAT_SENTINEL = { nsp: '/chat', args: ['leaveRoom', 'sentinel-room'] };

export default [
  raw('handshake, CONNECT /events, ping with an ack', ['42/events,1["ping"]']),
  raw('event without an ack id', ['42/events,["ping"]']),
  raw('CONNECT /events with a trailing comma and without', [], { namespaces: [] }),
  // The CONNECT answer is awaited first, as socket.io-client does: socket.io closes a connection
  // whose event for a namespace arrives while that namespace's connect is still pending.
  raw(
    'CONNECT /events without the comma',
    [(c) => (c.send('40/events'), c.waitFrame('40')), '42/events,2["ping"]'],
    { namespaces: [] },
  ),
  raw('client-sent ping 2', ['2']),
  raw('client-sent pong 3 (unsolicited)', ['3']),
  raw('client-sent noop 6', ['6']),
  raw('client-sent upgrade 5 on a websocket session', ['5']),
  raw('client-sent close 1', ['1']),
  raw('empty text frame', ['']),
  raw('unknown Engine.IO type 9', ['9']),
  raw('Engine.IO message 4 with nothing in it', ['4']),
  raw('unknown Socket.IO packet type 7 (47)', ['47']),
  raw('unknown Socket.IO packet type 7 for /events (47/events,)', ['47/events,']),
  raw('42/events,{} (object payload)', ['42/events,{}']),
  raw('42/events,"ping" (string payload)', ['42/events,"ping"']),
  raw('42/events,[] (empty array)', ['42/events,[]']),
  raw('truncated JSON 42/events,["ping"', ['42/events,["ping"']),
  raw('trailing garbage 42/events,["ping"]x', ['42/events,["ping"]x']),
  ...['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].map((event) =>
    raw(`reserved event name ${event}`, [`42/events,${JSON.stringify([event])}`]),
  ),
  raw('numeric event 42/events,[1]', ['42/events,[1]']),
  raw('numeric event with an ack 42/events,3[1]', ['42/events,3[1]']),
  raw('event name "ping" with an object argument and an ack', ['42/events,4["ping",{"a":1}]']),
  raw('ack for an unknown id 43/events,5[1]', ['43/events,5[1]']),
  raw('packet for a namespace not joined (42/chat,["ping"])', ['42/chat,["ping"]']),
  raw('event after leaving the namespace (41/events, 42/events,["ping"])', ['41/events,', '42/events,6["ping"]'], {
    namespaces: [chatAs('alice'), '/events'],
    settle: CHAT_SENTINEL,
  }),
  raw('CONNECT /events twice', ['40/events,']),
  raw('CONNECT with a string payload 40/chat,"x"', ['40/chat,"x"']),
  raw('CONNECT to an unknown namespace 40/nope,', ['40/nope,']),
  raw('CONNECT /chat without auth', ['40/chat,']),
  raw('CONNECT /chat with a valid token, joinRoom with an ack', ['42/chat,7["joinRoom","r1"]'], { namespaces: ['/events', chatAs('alice')] }),
  raw('DISCONNECT from a namespace not joined (41/chat,)', ['41/chat,']),
  raw('binary frame without an attachment announced', [Buffer.from([1, 2, 3])]),
  raw('binary event with its attachment', ['451-/events,8["message",{"_placeholder":true,"num":0}]', Buffer.from('hi')]),
  raw('binary attachment announced, text packet instead', ['451-/events,9["ping",{"_placeholder":true,"num":0}]', '42/events,10["ping"]']),
  raw('placeholder in a plain event (no attachment)', ['42/events,11["boom",{"_placeholder":true,"num":0}]']),
  raw('message of 1,000,000 bytes', [ioMessagePacketOfSize(1_000_000)]),
  raw('message of 1,000,001 bytes', [ioMessagePacketOfSize(1_000_001)]),
  raw('main namespace: CONNECT / and an event there', ['40', '42["ping"]', '42/events,12["ping"]']),
];
