// socket.io-client 4.8 reconnecting with connection state recovery:
//   node socketio_recovery.mjs http://127.0.0.1:3000 websocket|polling
// Joins a room, loses its transport, reconnects by itself, and must come back as the same socket,
// in the same room, with the event it missed meanwhile.
import { io } from 'socket.io-client';
import { deadline, expectEqual, fail, once } from './check.mjs';

const [base, transport] = process.argv.slice(2);
if (!transport) {
  console.error('usage: node socketio_recovery.mjs http://host:port websocket|polling');
  process.exit(2);
}
const timer = deadline(20);

const socket = io(`${base}/recovery`, { transports: [transport], reconnectionDelay: 50, reconnectionDelayMax: 100 });
await once(socket, 'connect');
expectEqual(socket.recovered, false, 'first connection is not a recovery');
const firstId = socket.id;
socket.emit('join');
expectEqual((await once(socket, 'joined'))[0], 'news', 'joined news (the event carries an offset)');

const missed = once(socket, 'missed');
socket.io.engine.close(); // the transport drops; the Manager reconnects
await once(socket, 'connect');
expectEqual(socket.recovered, true, 'the reconnection is a recovery');
expectEqual(socket.id, firstId, 'same socket id');
expectEqual((await missed)[0], `${firstId} dropped`, 'the event sent while away is replayed');
const where = await socket.timeout(5000).emitWithAck('whereAmI');
expectEqual([where.recovered, where.rooms.includes('news')], [true, true], 'still in news');

socket.disconnect();
clearTimeout(timer);
console.log(`recovery passed (${transport})`);
process.exit(0);
