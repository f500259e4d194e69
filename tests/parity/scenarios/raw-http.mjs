// Engine.IO over HTTP: handshake errors, long-polling, CORS, and the upgrade to WebSocket.
import { httpRequest } from '../lib/http.mjs';

const scenario = (name, run, deviation) => ({ name: `raw http: ${name}`, format: 'io', run, ...(deviation ? { deviation } : {}) });
const get = (name, path, options, deviation) =>
  scenario(
    name,
    async (t) => {
      await t.http('client').request(path, options);
    },
    deviation,
  );

const HANDSHAKE = 'http 200 0{"sid":"<id>","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}';
// Declared: with the guide's `cors: {origin: '*', credentials: true}` socket.io answers
// `Access-Control-Allow-Origin: *` next to `Allow-Credentials: true`, which browsers reject;
// ours echoes the request's Origin instead.
const CORS_ECHO = (status, body = status) => ({
  reason: "long-polling CORS echoes the request's Origin instead of '*'",
  nest: [body, 'header access-control-allow-origin: *', 'header access-control-allow-credentials: true'],
  ours: [body, 'header access-control-allow-origin: http://example.com', 'header access-control-allow-credentials: true'],
});

// Declared: socket.io 4.8 completes the WebSocket handshake of an Engine.IO 3 (or version-less)
// client, then writes an HTTP 400 response into the WebSocket stream, which clients report as an
// invalid frame; ours refuses the upgrade itself with that HTTP 400.
const UPGRADE_VERSION = {
  reason: 'a WebSocket upgrade without EIO=4 gets HTTP 400 before the upgrade',
  nest: ['open', 'error Invalid WebSocket frame: RSV1 must be clear', 'close 1006'],
  ours: ['http 400 Unsupported protocol version'],
};
// Declared: replies to several packets of one POST come in the packets' order in ours; NestJS
// sends the exception ahead of the earlier ping's ack (its replies take more promise ticks).
const BATCH_PREFIX = [
  HANDSHAKE,
  'http 200 ok',
  'http 200 40/events,{"sid":"<id>"}',
  'http 200 ok',
  'http 200 43/events,1["pong"]',
  'http 200 ok',
];
const REPLY_ORDER = {
  reason: 'replies to the messages of one batch are sent in the order the messages came',
  nest: [...BATCH_PREFIX, 'packet 42/events,["exception",{"code":"E_BOOM","message":"object error"}]', 'packet 43/events,2["pong"]'],
  ours: [...BATCH_PREFIX, 'packet 43/events,2["pong"]', 'packet 42/events,["exception",{"code":"E_BOOM","message":"object error"}]'],
};

/** Opens a long-polling session; returns its sid (registered for masking) or null. */
async function pollingSession(t, http) {
  const res = await http.request('/socket.io/?EIO=4&transport=polling');
  const sid = res.body.match(/"sid":"([^"]+)"/)?.[1] ?? null;
  if (sid) t.ids.push(sid);
  return sid;
}

export default [
  get('no query at all', '/socket.io/'),
  get('no EIO', '/socket.io/?transport=polling'),
  get('EIO=3', '/socket.io/?EIO=3&transport=polling'),
  get('EIO=5', '/socket.io/?EIO=5&transport=polling'),
  get('EIO=abc', '/socket.io/?EIO=abc&transport=polling'),
  get('no transport', '/socket.io/?EIO=4'),
  get('bad transport', '/socket.io/?EIO=4&transport=bogus'),
  get('unknown sid', '/socket.io/?EIO=4&transport=polling&sid=nope'),
  get('POST without a sid', '/socket.io/?EIO=4&transport=polling', { method: 'POST', body: '40' }),
  get('PUT', '/socket.io/?EIO=4&transport=polling', { method: 'PUT', body: '40' }),
  get('polling handshake', '/socket.io/?EIO=4&transport=polling', { show: ['content-type'] }),
  get(
    'polling handshake with an Origin',
    '/socket.io/?EIO=4&transport=polling',
    { headers: { Origin: 'http://example.com' }, show: ['access-control-allow-origin', 'access-control-allow-credentials'] },
    CORS_ECHO(200, HANDSHAKE),
  ),
  get(
    'CORS preflight: allowed origin',
    '/socket.io/?EIO=4&transport=polling',
    {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'POST' },
      show: ['access-control-allow-origin', 'access-control-allow-credentials'],
    },
    CORS_ECHO(204, 'http 204'),
  ),
  get('CORS preflight: allowed methods and headers', '/socket.io/?EIO=4&transport=polling', {
    method: 'OPTIONS',
    headers: {
      Origin: 'http://example.com',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type',
    },
    show: ['access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age'],
  }),

  scenario('WebSocket upgrade without EIO', async (t) => {
    const c = t.raw('client', { query: 'transport=websocket' });
    await c.closed();
  }, UPGRADE_VERSION),
  scenario('WebSocket upgrade with EIO=3', async (t) => {
    const c = t.raw('client', { query: 'EIO=3&transport=websocket' });
    await c.closed();
  }, UPGRADE_VERSION),
  scenario('WebSocket upgrade with an unknown sid', async (t) => {
    const c = t.raw('client', { query: 'EIO=4&transport=websocket&sid=nope' });
    await c.closed();
  }),
  scenario('WebSocket upgrade with transport=polling in the query', async (t) => {
    const c = t.raw('client', { query: 'EIO=4&transport=polling' });
    await c.closed();
  }),

  scenario('long-polling session: CONNECT /events, ping with an ack', async (t) => {
    const http = t.http('http');
    const sid = await pollingSession(t, http);
    if (!sid) return;
    await http.request(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '40/events,' });
    await http.request(`/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    await http.request(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '42/events,1["ping"]' });
    await http.request(`/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    // Two packets in one POST, separated by the record separator \x1e.
    await http.request(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: 'POST',
      body: '42/events,2["ping"]\x1e42/events,3["boomObject"]',
    });
    const res = await httpRequest(`${t.httpBase}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    // The two answers may come in one poll or two; record them as packets, whatever the split.
    const packets = res.body.split('\x1e');
    if (!packets.includes('43/events,2["pong"]') || packets.length < 2) {
      const more = await httpRequest(`${t.httpBase}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
      packets.push(...more.body.split('\x1e'));
    }
    for (const p of packets) http.rec.push(`packet ${p}`);
  }, REPLY_ORDER),

  scenario('upgrade from polling, then a second WebSocket with the same sid', async (t) => {
    const http = t.http('http');
    const sid = await pollingSession(t, http);
    if (!sid) return;
    await http.request(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '40/events,' });
    await http.request(`/socket.io/?EIO=4&transport=polling&sid=${sid}`);

    const first = t.raw('first', { query: `EIO=4&transport=websocket&sid=${sid}` });
    await first.rec.waitFor((l) => /^(open|close|http)\b/.test(l), 'open', { since: 0 });
    first.send('2probe');
    await first.waitFrame('3probe');
    first.send('5');
    await first.settle(); // /events answers over the upgraded transport

    const second = t.raw('second', { query: `EIO=4&transport=websocket&sid=${sid}` });
    await second.rec.waitFor((l) => /^(open|close|http)\b/.test(l), 'open', { since: 0 });
    if (second.isOpen) {
      second.send('2probe');
      second.send('42/events,1["ping"]');
      await second.rec.waitFor((l) => /^(close|http)\b/.test(l) || l.startsWith('frame 43'), 'answer or close', { since: 0 });
    }
    // The first WebSocket still works, and polling is over for this sid.
    await first.settle();
    await http.request(`/socket.io/?EIO=4&transport=polling&sid=${sid}`);
  }),
];
