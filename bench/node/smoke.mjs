// Smoke test for a benchmark peer server, speaking the wire formats by hand over `ws`.
// Usage: node smoke.mjs json ws://127.0.0.1:PORT/ [URL_B]
//        node smoke.mjs sio  ws://127.0.0.1:PORT  [URL_B]
// Client A uses the first URL, client B the second (default: the first), so two instances
// sharing a Redis adapter can be checked: a broadcast sent by A must reach B as well.
// For sio a URL without a path gets /socket.io/?EIO=4&transport=websocket appended.
// Exits 0 and prints `smoke ok` when every check passed.
import { WebSocket } from 'ws';
import { isDeepStrictEqual } from 'node:util';

const [format, urlA, urlB = urlA] = process.argv.slice(2);
if (!['json', 'sio'].includes(format) || !urlA) {
  console.error('usage: node smoke.mjs json|sio URL [URL_B]');
  process.exit(2);
}
const TIMEOUT_MS = 5000;

function fail(msg) {
  console.error(`smoke FAILED: ${msg}`);
  process.exit(1);
}

function sioUrl(url) {
  const u = new URL(url);
  if (u.pathname === '/' && !u.search) {
    u.pathname = '/socket.io/';
    u.search = '?EIO=4&transport=websocket';
  }
  return u.toString();
}

class Client {
  constructor(name, url) {
    this.name = name;
    this.queue = [];
    this.waiter = null;
    this.ws = new WebSocket(format === 'sio' ? sioUrl(url) : url);
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) fail(`${name}: unexpected binary frame`);
      const text = data.toString();
      if (format === 'sio' && text === '2') {
        this.ws.send('3'); // Engine.IO ping -> pong
        return;
      }
      this.queue.push(text);
      if (this.waiter) this.waiter();
    });
    this.ws.on('error', (err) => fail(`${name}: ${err.message}`));
    this.ws.on('close', (code) => {
      if (!this.closing) fail(`${name}: connection closed (${code})`);
    });
  }

  opened() {
    return new Promise((resolve) => this.ws.once('open', resolve));
  }

  // Next text frame (Engine.IO pings excluded).
  next(what) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve) => {
      const timer = setTimeout(() => fail(`${this.name}: timed out waiting for ${what}`), TIMEOUT_MS);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = null;
        resolve(this.queue.shift());
      };
    });
  }

  send(text) {
    this.ws.send(text);
  }

  close() {
    this.closing = true;
    this.ws.close();
  }
}

function expectEqual(name, what, got, want) {
  if (got !== want) {
    const show = (s) => (s.length > 120 ? `${s.slice(0, 120)}... (${s.length} chars)` : s);
    fail(`${name}: ${what}: got ${show(got)}, want ${show(want)}`);
  }
}

// ---- the two formats: request builders and expected replies ----

let ackId = 0;
const json = {
  async connect(c) {
    await c.opened();
  },
  request(c, event, data) {
    c.send(JSON.stringify({ event, data: data === undefined ? null : data }));
    return event === 'echo' ? JSON.stringify(data) : JSON.stringify('ok');
  },
  bcast(data) {
    return JSON.stringify({ event: 'bcast', data });
  },
};
const sio = {
  async connect(c) {
    await c.opened();
    const open = await c.next('Engine.IO open packet');
    if (!open.startsWith('0{')) fail(`${c.name}: bad open packet ${open}`);
    const { sid, pingInterval } = JSON.parse(open.slice(1));
    if (!sid || !pingInterval) fail(`${c.name}: bad open packet ${open}`);
    c.send('40');
    const connect = await c.next('Socket.IO CONNECT reply');
    if (!connect.startsWith('40{')) fail(`${c.name}: bad CONNECT reply ${connect}`);
    if (!JSON.parse(connect.slice(2)).sid) fail(`${c.name}: CONNECT reply without sid: ${connect}`);
  },
  request(c, event, data) {
    const id = ackId++;
    c.send(`42${id}${JSON.stringify(data === undefined ? [event] : [event, data])}`);
    return `43${id}${JSON.stringify([event === 'echo' ? data : 'ok'])}`;
  },
  bcast(data) {
    return `42${JSON.stringify(['bcast', data])}`;
  },
};
const proto = format === 'sio' ? sio : json;

async function call(c, event, data, what) {
  const want = proto.request(c, event, data);
  expectEqual(c.name, what, await c.next(what), want);
}

// ---- the checks ----

const a = new Client('A', urlA);
const b = new Client('B', urlB);
await Promise.all([proto.connect(a), proto.connect(b)]);

const small = 'abcdefghijklmnopqrst'; // 20 bytes
const big = 'x'.repeat(16 * 1024);
await call(a, 'echo', small, 'echo 20 B');
await call(a, 'echo', big, 'echo 16 KiB');
await call(b, 'echo', small, 'echo 20 B');
await call(a, 'join', undefined, 'join');
await call(b, 'join', undefined, 'join');

for (const data of ['hello room', big]) {
  const label = `broadcast ${data.length} B`;
  const ok = proto.request(a, 'broadcast', data);
  const bcast = proto.bcast(data);
  // A is a member, so it gets the bcast and the "ok" reply (in whichever order).
  const gotA = [await a.next(label), await a.next(label)];
  if (!(gotA.includes(ok) && gotA.includes(bcast))) {
    fail(`A: ${label}: got ${JSON.stringify(gotA.map((s) => s.slice(0, 80)))}`);
  }
  if (gotA[0] !== bcast) console.error(`note: A got the reply before its own bcast`);
  expectEqual('B', label, await b.next(label), bcast);
}

// Nothing unexpected left over.
await new Promise((r) => setTimeout(r, 100));
for (const c of [a, b]) {
  if (c.queue.length) fail(`${c.name}: unexpected extra frames ${JSON.stringify(c.queue)}`);
  c.close();
}
console.log('smoke ok');
process.exit(0);
