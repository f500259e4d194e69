// Socket.IO (socket.io-client 4.8, default transports) on /events: each handler, with and
// without an ack, and the `exception` event shapes.
import { ROOM } from '../lib/constants.mjs';

/** Connects to /events, runs `steps(client)` one at a time, settling after each. */
const events = (name, steps, options = {}) => ({
  name: `io events: ${name}`,
  format: 'io',
  async run(t) {
    const c = t.io('client', '/events', options);
    if ((await c.connected()) !== 'connect') return;
    for (const step of steps) {
      step(c);
      await c.settle();
    }
  },
});

const ws = { transports: ['websocket'] };

export default [
  events('message {text} with an ack', [(c) => c.emitAck('message', { text: 'hi' })]),
  events('message {text} without an ack', [(c) => c.emit('message', { text: 'hi' })]),
  events('message {text} over websocket only', [(c) => c.emitAck('message', { text: 'hi' })], ws),
  events('message with no argument, ack only', [(c) => c.emitAck('message')]),
  events('message with null', [(c) => c.emitAck('message', null)]),
  events('message with a string', [(c) => c.emitAck('message', 'hi')]),
  events('ping with an ack', [(c) => c.emitAck('ping')]),
  events('ping without an ack', [(c) => c.emit('ping')]),
  events('ping over websocket only', [(c) => c.emitAck('ping')], ws),
  events('ping with a body and an ack', [(c) => c.emitAck('ping', { a: 1 })]),
  events('boom with an ack', [(c) => c.emitAck('boom')]),
  events('boom with data', [(c) => c.emitAck('boom', { a: [1, 2] })]),
  events('boomObject', [(c) => c.emitAck('boomObject')]),
  events('crash', [(c) => c.emitAck('crash', 'x')]),
  events('secret (guard returns false)', [(c) => c.emitAck('secret')]),
  events('unknown event with an ack', [(c) => c.emitAck('nope', 1)]),
  events('a chat event on /events', [(c) => c.emitAck('joinRoom', ROOM)]),
  events('every handler in a row', [
    (c) => c.emitAck('ping'),
    (c) => c.emitAck('message', { text: 'a' }),
    (c) => c.emitAck('boom'),
    (c) => c.emitAck('boomObject'),
    (c) => c.emitAck('crash'),
    (c) => c.emitAck('secret'),
    (c) => c.emitAck('ping'),
  ]),
];
