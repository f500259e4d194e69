// socket.io-client 4.8 against the conformance gateways (`/`, `/custom`) and the interop test
// gateway (`/interop`), over the chosen transports:
//   node socketio_interop.mjs http://127.0.0.1:3000 default|polling|websocket
// default = socket.io-client's own default (long-polling, then the upgrade to WebSocket).
// Prints one line per step and exits 0 when every expectation held, 1 otherwise.
import { io } from 'socket.io-client';
import { deadline, expectEqual, fail, labelFailures, once } from './check.mjs';

const [base, mode] = process.argv.slice(2);
if (!mode) {
  console.error('usage: node socketio_interop.mjs http://host:port default|polling|websocket');
  process.exit(2);
}
labelFailures(mode);
const timer = deadline(25);

const transports = { default: undefined, polling: ['polling'], websocket: ['websocket'] }[mode];
const options = (extra = {}) => ({ reconnection: false, ...(transports ? { transports } : {}), ...extra });

// Namespace `/` echoes the CONNECT auth payload as `auth`.
const main = io(base, options({ auth: { token: 'abc' } }));
const [auth] = await once(main, 'auth');
expectEqual(auth, { token: 'abc' }, 'auth payload reaches the server');

// A second namespace multiplexed over the same Engine.IO connection (same Manager).
const custom = io(`${base}/custom`, options());
expectEqual((await once(custom, 'auth'))[0], {}, 'second namespace on the same connection');
if (custom.io !== main.io) fail('namespaces did not share the Manager');

// Several arguments and binary data, both ways.
main.emit('message', 1, 'two', Buffer.from([1, 2, 3]));
const back = await once(main, 'message-back');
expectEqual([back[0], back[1], [...back[2]]], [1, 'two', [1, 2, 3]], 'message-back with the same arguments, binary included');
const acked = await new Promise((resolve) => main.timeout(5000).emit('message-with-ack', { n: 1 }, Buffer.from([9, 8]), (err, ...args) => (err ? fail(`ack: ${err}`) : resolve(args))));
expectEqual([acked[0], [...acked[1]]], [{ n: 1 }, [9, 8]], 'ack with the same arguments, binary included');

// The server asks, the client acks.
const interop = io(`${base}/interop`, options());
await once(interop, 'connect');
interop.on('question', (question, ack) => ack(`${question} yes`));
interop.emit('askMe');
expectEqual((await once(interop, 'answered'))[0], { answer: 'ready? yes' }, 'server emit with ack, answered by the client');

// Broadcast with acks: every member of the room answers.
const voter = io(`${base}/interop`, options({ forceNew: true }));
await once(voter, 'connect');
voter.on('vote', (question, ack) => ack('voter says yes'));
interop.on('vote', (question, ack) => ack('asker says no'));
expectEqual(await interop.timeout(5000).emitWithAck('join'), 'joined', 'asker joins the room');
expectEqual(await voter.timeout(5000).emitWithAck('join'), 'joined', 'voter joins the room');
interop.emit('poll');
expectEqual((await once(interop, 'results'))[0], ['asker says no', 'voter says yes'], 'broadcast with acks from every recipient');

// The transport in use.
const engine = main.io.engine;
if (mode === 'default' && engine.transport.name !== 'websocket') await once(engine, 'upgrade');
expectEqual(engine.transport.name, mode === 'polling' ? 'polling' : 'websocket', 'transport');

for (const s of [main, custom, interop, voter]) s.disconnect();
clearTimeout(timer);
console.log(`socket.io interop passed (${mode})`);
process.exit(0);
