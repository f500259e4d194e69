// Connection state recovery across instances with the Redis Streams adapter: socket.io-client
// 4.8 joins `news` on one instance, loses its transport, an event for `news` is sent from the
// other instance meanwhile, and the client comes back on that other instance as the same
// socket, in `news`, with the event it missed.
//
//   node streams_recovery.mjs REDIS_URL FROM_URL TO_URL
// FROM_URL or TO_URL may be `node`: this script then serves that instance itself (socket.io
// 4.8 with @socket.io/redis-streams-adapter 0.3 and the same /recovery namespace).
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import { io } from 'socket.io-client';
import { deadline, expectEqual, once } from './check.mjs';

const [redisUrl, fromArg, toArg] = process.argv.slice(2);
const timer = deadline(40);
const redis = createClient({ url: redisUrl });
await redis.connect();

async function nodeInstance() {
  const client = createClient({ url: redisUrl });
  await client.connect();
  const http = createServer();
  const server = new Server(http, {
    adapter: createAdapter(client),
    connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
  });
  const nsp = server.of('/recovery');
  nsp.on('connection', (socket) => {
    socket.on('join', () => {
      socket.join('news');
      socket.emit('joined', 'news');
    });
    socket.on('announce', (text, ack) => {
      nsp.to('news').emit('missed', text);
      ack('ok');
    });
    socket.on('whereAmI', (ack) =>
      ack({ id: socket.id, rooms: [...socket.rooms].sort(), recovered: socket.recovered }),
    );
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${http.address().port}`, server, client };
}

const node = fromArg === 'node' || toArg === 'node' ? await nodeInstance() : null;
const from = fromArg === 'node' ? node.url : fromArg;
const to = toArg === 'node' ? node.url : toArg;

/** Waits until `check()` holds, asking again every 10 ms. */
async function until(what, check) {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

const socket = io(`${from}/recovery`, { transports: ['websocket'], reconnection: false });
await once(socket, 'connect');
expectEqual(socket.recovered, false, 'first connection is not a recovery');
const firstId = socket.id;
socket.emit('join');
expectEqual((await once(socket, 'joined'))[0], 'news', 'joined news');

const before = new Set(await redis.keys('sio:session:*'));
socket.io.engine.close(); // the transport drops: the session is kept for recovery
await until('the session is kept', async () =>
  (await redis.keys('sio:session:*')).some((key) => !before.has(key)),
);

// Meanwhile, from the other instance: an event for `news`, recorded in the stream.
const text = `sent while ${firstId} was away`;
const helper = io(`${to}/recovery`, { transports: ['websocket'], forceNew: true });
await once(helper, 'connect');
expectEqual(await helper.timeout(10_000).emitWithAck('announce', text), 'ok', 'announced');
await until('the event is in the stream', async () => {
  const entries = await redis.xRevRange('socket.io', '+', '-', { COUNT: 20 });
  return entries.some((e) => e.message.nsp === '/recovery' && (e.message.data ?? '').includes(text));
});

// Back, on the other instance.
const missed = once(socket, 'missed');
socket.io.uri = to;
socket.connect();
await once(socket, 'connect');
expectEqual(socket.recovered, true, 'the reconnection on the other instance is a recovery');
expectEqual(socket.id, firstId, 'same socket id');
expectEqual((await missed)[0], text, 'the event sent while away is replayed');
const where = await socket.timeout(10_000).emitWithAck('whereAmI');
expectEqual([where.recovered, where.rooms.includes('news')], [true, true], 'still in news');

socket.disconnect();
helper.disconnect();
node?.server.close();
await node?.client.quit().catch(() => {});
await redis.quit().catch(() => {});
clearTimeout(timer);
console.log(`streams recovery passed (${fromArg === 'node' ? 'node' : 'rust'} -> ${toArg === 'node' ? 'node' : 'rust'})`);
process.exit(0);
