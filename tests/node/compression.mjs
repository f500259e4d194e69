// permessage-deflate with the real npm clients, both of which offer it by default:
//   node compression.mjs json ws://127.0.0.1:PORT       (npm `ws`, the NestJS JSON format)
//   node compression.mjs socketio http://127.0.0.1:PORT (socket.io-client over WebSocket, and
//                                                        upgraded to it from long-polling)
// against a gateway at /echo that emits `echo` with the body it got, and `plain` with the body
// sent with compress(false). Whether a frame from the server was compressed (RSV1) is seen by
// counting the calls of the client's own inflater, which `ws` makes only for such frames; the
// bytes on the wire by the TCP socket's counters. The json run ends by sending a message that
// inflates past the server's 1 MB limit, which must close the connection with 1009.
// Prints one line per check and exits 0 when all held.
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { deadline, expectEqual, fail, labelFailures, once } from './check.mjs';

const [mode, base] = process.argv.slice(2);
if (!['json', 'socketio'].includes(mode) || !base) {
  console.error('usage: node compression.mjs json|socketio BASE_URL');
  process.exit(2);
}
labelFailures(mode);
const timer = deadline(60);

/** A compressible JSON body of about `bytes` bytes: records that repeat each other. */
function records(bytes) {
  const items = [];
  for (let i = 0; JSON.stringify(items).length < bytes; i++) {
    items.push({ id: i, name: `item ${i}`, tags: ['red', 'green'], price: 10 + (i % 7) });
  }
  return { items };
}

/**
 * Counts the frames `ws` (the client of either run) inflates: its receiver calls the
 * extension's `decompress` for a compressed frame only.
 */
function countInflated(ws) {
  const deflate = ws._extensions['permessage-deflate'];
  if (!deflate) fail(`permessage-deflate was not negotiated (extensions: ${ws.extensions})`);
  const counter = { frames: 0 };
  const decompress = deflate.decompress.bind(deflate);
  deflate.decompress = (data, fin, callback) => {
    counter.frames += 1;
    decompress(data, fin, callback);
  };
  return counter;
}

/** The bytes `ws` has read from and written to its TCP socket so far. */
const wire = (ws) => ({ read: ws._socket.bytesRead, written: ws._socket.bytesWritten });

/** Runs `exchange`, returning its answer and the bytes it moved each way. */
async function measured(ws, exchange) {
  const before = wire(ws);
  const answer = await exchange();
  const after = wire(ws);
  return { answer, read: after.read - before.read, written: after.written - before.written };
}

const large = records(64 * 1024);
const largeLength = JSON.stringify(large).length;
const small = { text: 'hi' };

if (mode === 'json') {
  const ws = new WebSocket(`${base}/echo`);
  await once(ws, 'open');
  expectEqual(ws.extensions, 'permessage-deflate', 'the 101 agreed to permessage-deflate');
  const inflated = countInflated(ws);
  const next = (event) =>
    new Promise((resolve) => {
      ws.on('message', function listener(raw) {
        const message = JSON.parse(raw.toString());
        if (message.event === event) {
          ws.off('message', listener);
          resolve(message.data);
        }
      });
    });
  const send = (event, data) => ws.send(JSON.stringify({ event, data }));

  let { answer, read, written } = await measured(ws, () => {
    send('echo', large);
    return next('echo');
  });
  expectEqual(answer, large, `a ${largeLength}-byte message came back whole`);
  expectEqual(inflated.frames, 1, 'the echo came compressed');
  if (written > largeLength / 5) fail(`the client sent ${written} bytes: not compressed`);
  if (read > largeLength / 5) fail(`the server sent ${read} bytes: not compressed`);
  console.log(`ok - ${largeLength} bytes each way took ${written} up and ${read} down`);

  ({ answer } = await measured(ws, () => {
    send('echo', small);
    return next('echo');
  }));
  expectEqual(answer, small, 'a small message came back');
  expectEqual(inflated.frames, 1, 'under the threshold it came uncompressed');

  ({ answer, read } = await measured(ws, () => {
    send('plain', large);
    return next('plain');
  }));
  expectEqual(answer, large, 'a compress(false) emit came back whole');
  expectEqual(inflated.frames, 1, 'compress(false) sent it uncompressed');
  if (read < largeLength) fail(`only ${read} bytes for ${largeLength} uncompressed`);

  // Two megabytes of one letter: a few kilobytes compressed, twice the server's limit inflated.
  const closed = once(ws, 'close');
  ws.send(JSON.stringify({ event: 'echo', data: 'a'.repeat(2_000_000) }));
  const [code] = await closed;
  expectEqual(code, 1009, 'a message inflating past the limit is closed with 1009');
} else {
  // Straight to WebSocket, and long-polling upgraded to it.
  await socketioRun({ transports: ['websocket'] }, 'over WebSocket');
  await socketioRun({}, 'after the upgrade from long-polling');
}

/** The socket.io-client checks, with `options` for the Manager. */
async function socketioRun(options, how) {
  const socket = io(`${base}/echo`, { ...options, reconnection: false, forceNew: true });
  await once(socket, 'connect');
  if (socket.io.engine.transport.name !== 'websocket') {
    await once(socket.io.engine, 'upgrade');
  }
  const ws = socket.io.engine.transport.ws;
  expectEqual(ws.extensions, 'permessage-deflate', `${how}: the 101 agreed to permessage-deflate`);
  const inflated = countInflated(ws);
  const next = (event) => once(socket, event).then(([data]) => data);

  let { answer, read, written } = await measured(ws, () => {
    socket.emit('echo', large);
    return next('echo');
  });
  expectEqual(answer, large, `${how}: a ${largeLength}-byte event came back whole`);
  expectEqual(inflated.frames, 1, `${how}: the echo came compressed`);
  if (written > largeLength / 5) fail(`the client sent ${written} bytes: not compressed`);
  if (read > largeLength / 5) fail(`the server sent ${read} bytes: not compressed`);
  console.log(`ok - ${largeLength} bytes each way took ${written} up and ${read} down`);

  ({ answer } = await measured(ws, () => {
    socket.emit('echo', small);
    return next('echo');
  }));
  expectEqual(answer, small, `${how}: a small event came back`);
  expectEqual(inflated.frames, 1, `${how}: under the threshold it came uncompressed`);

  ({ answer, read } = await measured(ws, () => {
    socket.emit('plain', large);
    return next('plain');
  }));
  expectEqual(answer, large, `${how}: a compress(false) emit came back whole`);
  expectEqual(inflated.frames, 1, `${how}: compress(false) sent it uncompressed`);
  if (read < largeLength) fail(`only ${read} bytes for ${largeLength} uncompressed`);
  socket.disconnect();
}

clearTimeout(timer);
console.log(`compression ${mode} passed`);
process.exit(0);
