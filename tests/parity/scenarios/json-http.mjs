// JSON format: what a client sees at paths no gateway serves, and plain HTTP on gateway paths.
// Declared: at a path no gateway serves NestJS's WsAdapter destroys the TCP socket (the client
// sees "socket hang up"); ours answers the upgrade with the 404 NestJS gives a plain request there.
const UNKNOWN_PATH = (p) => ({
  reason: 'HTTP 404 for an unknown path (NestJS drops the TCP connection)',
  nest: ['error socket hang up', 'close 1006'],
  ours: [`http 404 ${JSON.stringify({ message: `Cannot GET ${p}`, error: 'Not Found', statusCode: 404 })}`],
});

const path = (name, p) => ({
  name: `json paths: ${name}`,
  format: 'json',
  async run(t) {
    const c = t.json('client', p);
    await c.opened();
    await c.closed();
  },
  deviation: UNKNOWN_PATH(p),
});

/** A path that may or may not reach /events: if it opens, `ping` shows which gateway it is. */
const maybe = (name, p) => ({
  name: `json paths: ${name}`,
  format: 'json',
  async run(t) {
    const c = t.json('client', p);
    if ((await c.opened()) !== 'open') {
      await c.closed();
      return;
    }
    c.emit('ping');
    await c.waitRecv('pong');
  },
  deviation: UNKNOWN_PATH(p),
});

const http = (name, p, options) => ({
  name: `json http: ${name}`,
  format: 'json',
  async run(t) {
    await t.http('client').request(p, options);
  },
});

export default [
  path('unknown path /nope', '/nope'),
  path('unknown path /', '/'),
  path('unknown path /chat/extra', '/chat/extra'),
  path('unknown path /EVENTS (case)', '/EVENTS'),
  maybe('/events with a query string', '/events?x=1'),
  maybe('/events/ (trailing slash)', '/events/'),
  maybe('//events (double slash)', '//events'),
  http('GET /events without an upgrade', '/events'),
  http('GET /nope', '/nope'),
];
