// JSON format (platform-ws) on /events: each handler, its replies and exception shapes.
import { ROOM } from '../lib/constants.mjs';

/** Opens /events, sends each frame in turn and records everything it gets before moving on. */
const events = (name, frames) => ({
  name: `json events: ${name}`,
  format: 'json',
  async run(t) {
    const c = t.json('client', '/events');
    await c.opened();
    for (const frame of frames) {
      c.send(frame);
      await c.settle();
    }
  },
});

export default [
  events('message {text}', [{ event: 'message', data: { text: 'hi' } }]),
  events('message {} (no text)', [{ event: 'message', data: {} }]),
  events('message without data', [{ event: 'message' }]),
  events('message with null data', [{ event: 'message', data: null }]),
  events('message with a string body', [{ event: 'message', data: 'hi' }]),
  events('message with a number body', [{ event: 'message', data: 42 }]),
  events('message with an array body', [{ event: 'message', data: [{ text: 'hi' }] }]),
  events('message {text: 42}', [{ event: 'message', data: { text: 42 } }]),
  events('ping', [{ event: 'ping' }]),
  events('ping with data', [{ event: 'ping', data: { a: 1 } }]),
  events('boom', [{ event: 'boom' }]),
  events('boom with data', [{ event: 'boom', data: { a: [1, 2], b: null } }]),
  events('boomObject', [{ event: 'boomObject' }]),
  events('crash', [{ event: 'crash' }]),
  events('crash with data', [{ event: 'crash', data: 'x' }]),
  events('secret (guard returns false)', [{ event: 'secret' }]),
  events('secret with data', [{ event: 'secret', data: { a: 1 } }]),
  events('unknown event', [{ event: 'nope' }, { event: 'nope', data: 1 }]),
  events('a chat event on /events', [{ event: 'joinRoom', data: ROOM }]),
  events('every handler in a row', [
    { event: 'ping' },
    { event: 'message', data: { text: 'a' } },
    { event: 'boom' },
    { event: 'boomObject' },
    { event: 'crash' },
    { event: 'secret' },
    { event: 'ping' },
  ]),
];
