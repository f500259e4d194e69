// JSON format: frames that are not a well-formed `{event, data}` message, unknown events,
// oversized messages. Most of these NestJS drops silently; `settle` makes that visible without
// waiting for a timeout (a sentinel answered after the frame under test).
import { messageFrameOfSize } from '../lib/constants.mjs';

// Declared: NestJS's WsAdapter leaves `ws`'s default maxPayload (100 MiB); ours refuses a message
// over 1,000,000 bytes (socket.io's maxHttpBufferSize) with 1009, before buffering it.
const MESSAGE_LIMIT = {
  reason: 'a JSON-format message over 1,000,000 bytes closes the connection with 1009',
  nest: ['open', 'recv {"event":"message","data":{"received":true}}', 'recv "pong"'],
  ours: ['open', 'close 1009'],
};

/** Sends `frame` (string: text frame; Buffer: binary frame) on `path`, then a `ping`, settling after each. */
const frame = (name, payload, { path = '/events', textBytes = false, deviation } = {}) => ({
  name: `json frames: ${name}`,
  format: 'json',
  ...(deviation ? { deviation } : {}),
  async run(t) {
    const c = t.json('client', path === '/chat' ? `/chat?token=${t.tokens.valid('alice')}` : path);
    await c.opened();
    // textBytes: raw bytes sent as a text frame (how invalid UTF-8 gets onto the wire).
    if (textBytes) c.ws.send(payload, { binary: false });
    else c.send(payload);
    await c.settle();
    // Is the connection still usable afterwards?
    c.send(path === '/chat' ? { event: 'leaveRoom', data: 'after' } : { event: 'ping' });
    await c.settle();
  },
});

export default [
  frame('not JSON', 'hello'),
  frame('truncated JSON', '{"event":"ping"'),
  frame('JSON array ["ping", null]', '["ping", null]'),
  frame('JSON array ["ping"]', '["ping"]'),
  frame('a JSON string', '"ping"'),
  frame('a JSON number', '42'),
  frame('JSON null', 'null'),
  frame('JSON true', 'true'),
  frame('an empty text frame', ''),
  frame('{}', '{}'),
  frame('{"data":1} (no event)', '{"data":1}'),
  frame('{"event":42}', '{"event":42}'),
  frame('{"event":null}', '{"event":null}'),
  frame('{"event":["ping"]}', '{"event":["ping"]}'),
  frame('{"event":"PING"} (case)', '{"event":"PING"}'),
  frame('{"event":"toString"}', '{"event":"toString"}'),
  frame('{"event":"__proto__"}', '{"event":"__proto__"}'),
  frame('{"event":"constructor"}', '{"event":"constructor"}'),
  frame('duplicate keys {"event":"nope","event":"ping"}', '{"event":"nope","event":"ping"}'),
  frame('duplicate keys {"event":"ping","event":"nope"}', '{"event":"ping","event":"nope"}'),
  frame('extra top-level field', '{"event":"ping","data":1,"extra":true}'),
  frame('whitespace around the JSON', ' \n {"event":"ping"} \t'),
  frame('a UTF-8 BOM before the JSON', '\uFEFF{"event":"ping"}'),
  frame('escaped event name {"event":"p\\u0069ng"}', '{"event":"p\\u0069ng"}'),
  frame('binary frame holding {"event":"ping"}', Buffer.from('{"event":"ping"}')),
  frame('binary frame holding bytes ff fe', Buffer.from([0xff, 0xfe])),
  frame('text frame with invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), { textBytes: true }),
  frame('unknown event on /chat', '{"event":"nope","data":1}', { path: '/chat' }),
  frame('not JSON on /chat', 'hello', { path: '/chat' }),
  frame('an /events event on /chat', '{"event":"ping"}', { path: '/chat' }),
  frame('message of 1,000,000 bytes', messageFrameOfSize(1_000_000)),
  frame('message of 1,000,001 bytes', messageFrameOfSize(1_000_001), { deviation: MESSAGE_LIMIT }),
  frame('message of 2,000,000 bytes', messageFrameOfSize(2_000_000), { deviation: MESSAGE_LIMIT }),
];
