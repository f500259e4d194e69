// The chat flow of guide 000, played by two real `ws` clients against a running server:
//   node chat_flow.mjs ws://127.0.0.1:3000
// Prints one line per step and exits 0 when every expectation held, 1 otherwise.
import WebSocket from 'ws';

const base = process.argv[2];
if (!base) {
  console.error('usage: node chat_flow.mjs ws://host:port');
  process.exit(2);
}
const deadline = setTimeout(() => fail('timed out after 20 s'), 20_000);

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
  console.log(`ok - ${what}`);
}

// A client whose incoming frames are queued, so the test can await them in order.
function client(path) {
  const ws = new WebSocket(base + path);
  const queue = [];
  const waiters = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else queue.push(frame);
  });
  ws.on('error', (err) => fail(`${path}: ${err.message}`));
  return {
    ws,
    opened: new Promise((resolve) => ws.once('open', resolve)),
    send: (event, data) => ws.send(JSON.stringify({ event, data })),
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))),
    async nextEvent(event) {
      for (;;) {
        const frame = await this.next();
        if (frame && frame.event === event) return frame.data;
      }
    },
  };
}

const alice = client('/chat');
const bob = client('/chat');
await Promise.all([alice.opened, bob.opened]);

alice.send('joinRoom', 'general');
const aliceJoined = await alice.nextEvent('userJoined');
expectEqual(aliceJoined.roomId, 'general', 'alice sees her own userJoined');
const aliceId = aliceJoined.userId;
expectEqual(await alice.next(), { joined: 'general' }, 'alice gets {joined}');

bob.send('joinRoom', 'general');
const bobJoined = await alice.nextEvent('userJoined');
expectEqual(bobJoined.roomId, 'general', 'alice sees bob join');
const bobId = bobJoined.userId;
await bob.nextEvent('userJoined');
expectEqual(await bob.next(), { joined: 'general' }, 'bob gets {joined}');

alice.send('sendMessage', { roomId: 'general', message: 'hello bob' });
expectEqual(await alice.next(), { sent: true }, 'alice gets {sent: true}');
const message = await bob.nextEvent('newMessage');
expectEqual({ userId: message.userId, message: message.message }, { userId: aliceId, message: 'hello bob' }, 'bob gets newMessage');
if (Number.isNaN(Date.parse(message.timestamp))) fail(`bad timestamp ${message.timestamp}`);

bob.send('leaveRoom', 'general');
expectEqual(await bob.next(), { left: 'general' }, 'bob gets {left}');
expectEqual(await alice.nextEvent('userLeft'), { userId: bobId, roomId: 'general' }, 'alice sees bob leave');

// The same app serves the events gateway at its own path.
const events = client('/events');
await events.opened;
events.send('message', { text: 'hello' });
expectEqual(await events.next(), { event: 'message', data: { received: true } }, 'events answers message');

for (const c of [alice, bob, events]) c.ws.close(1000);
clearTimeout(deadline);
console.log('chat flow passed');
