// The chat flow of guide 000, played by two real `ws` clients against a running server:
//   node chat_flow.mjs ws://127.0.0.1:3000 <alice's token> <bob's token> [bob's server]
// (tokens from `cargo run --example mint_token -- alice`). With a fourth argument, bob talks to
// another instance of the cluster (`redis_cluster` example), so every room event crosses Redis.
// Prints one line per step and exits 0 when every expectation held, 1 otherwise.
import WebSocket from 'ws';
import { deadline, expectEqual, fail } from './check.mjs';
import './record.mjs';

const [base, aliceToken, bobToken, bobBase = base] = process.argv.slice(2);
if (!base || !aliceToken || !bobToken) {
  console.error('usage: node chat_flow.mjs ws://host:port <alice token> <bob token>');
  process.exit(2);
}
const ROOM = '6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f';
const timer = deadline(20);

// A client whose incoming frames are queued, so the test can await them in order.
// `ignore` drops frames whose arrival order the test cannot know.
function client(path, server = base, ignore = () => false) {
  const ws = new WebSocket(server + path);
  const queue = [];
  const waiters = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (ignore(frame)) return;
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else queue.push(frame);
  });
  ws.on('error', (err) => fail(`${path}: ${err.message}`));
  return {
    ws,
    opened: new Promise((resolve) => ws.once('open', resolve)),
    closed: new Promise((resolve) => ws.once('close', (code) => resolve(code))),
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

// Without a token: the guide's AuthenticatedGateway emits `error`, then disconnects.
const stranger = client('/chat');
expectEqual(await stranger.next(), { event: 'error', data: { message: 'Authentication failed' } }, 'no token: error event');
expectEqual(await stranger.closed, 1000, 'no token: disconnected');

const alice = client(`/chat?token=${aliceToken}`);
// On two instances, alice's own userJoined crosses Redis while bob joins the room, so it may
// reach bob at any point of his flow, or not at all: bob ignores it.
const aliceJoined = (frame) => frame.event === 'userJoined' && frame.data.userId === 'alice';
const bob = client(`/chat?token=${bobToken}`, bobBase, aliceJoined);
await Promise.all([alice.opened, bob.opened]);

alice.send('joinRoom', ROOM);
expectEqual(await alice.nextEvent('userJoined'), { userId: 'alice', roomId: ROOM }, 'alice sees her own userJoined');
expectEqual(await alice.next(), { joined: ROOM }, 'alice gets {joined}');

bob.send('joinRoom', ROOM);
expectEqual(await alice.nextEvent('userJoined'), { userId: 'bob', roomId: ROOM }, 'alice sees bob join');
expectEqual(await bob.nextEvent('userJoined'), { userId: 'bob', roomId: ROOM }, 'bob sees his own userJoined');
expectEqual(await bob.next(), { joined: ROOM }, 'bob gets {joined}');

alice.send('sendMessage', { roomId: ROOM, message: 'hello bob' });
expectEqual(await alice.next(), { sent: true }, 'alice gets {sent: true}');
const message = await bob.nextEvent('newMessage');
expectEqual({ userId: message.userId, message: message.message }, { userId: 'alice', message: 'hello bob' }, 'bob gets newMessage');
if (Number.isNaN(Date.parse(message.timestamp))) fail(`bad timestamp ${message.timestamp}`);

// SendMessageDto: roomId must be a UUID, message must not be empty.
alice.send('sendMessage', { roomId: 'general', message: '' });
const invalid = await alice.nextEvent('exception');
expectEqual(invalid.map((e) => [e.property, Object.keys(e.constraints)]), [['roomId', ['isUuid']], ['message', ['isNotEmpty']]], 'invalid sendMessage: field errors');

bob.send('leaveRoom', ROOM);
expectEqual(await bob.next(), { left: ROOM }, 'bob gets {left}');
expectEqual(await alice.nextEvent('userLeft'), { userId: 'bob', roomId: ROOM }, 'alice sees bob leave');

// The same app serves the events gateway at its own path.
const events = client('/events');
await events.opened;
events.send('message', { text: 'hello' });
expectEqual(await events.next(), { event: 'message', data: { received: true } }, 'events answers message');

for (const c of [alice, bob, events]) c.ws.close(1000);
clearTimeout(timer);
console.log('chat flow passed');
