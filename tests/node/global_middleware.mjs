// An app-wide connection guard (socket.io's `io.use`) seen by the real socket.io-client 4.8 and
// `ws`:   node global_middleware.mjs http://127.0.0.1:3000
// Prints one line per step and exits 0 when every expectation held, 1 otherwise.
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { deadline, expectEqual, once } from './check.mjs';

const [base] = process.argv.slice(2);
const timer = deadline(20);
const options = (query) => ({ transports: ['websocket'], reconnection: false, forceNew: true, query });

for (const nsp of ['/', '/second']) {
  const refused = io(`${base}${nsp}`, options({}));
  const [err] = await once(refused, 'connect_error');
  expectEqual(err.message, 'not authorized', `${nsp}: connect_error message`);
  expectEqual(err.data, { message: 'not authorized', content: 'Please sign in' }, `${nsp}: err.data`);
  refused.close();

  const admitted = io(`${base}${nsp}`, options({ token: 'letmein' }));
  await once(admitted, 'connect');
  expectEqual(await admitted.timeout(5000).emitWithAck('whoami'), nsp, `${nsp}: admitted with a token`);
  admitted.close();
}

const ws = base.replace('http', 'ws');
const refusedWs = new WebSocket(`${ws}/second`);
const [request, res] = await once(refusedWs, 'unexpected-response');
expectEqual(res.statusCode, 401, 'JSON format: refused before the upgrade, 401');
// Handling `unexpected-response` leaves the connection to us: without this, the process waits
// for the server to close it.
request.destroy();
const admittedWs = new WebSocket(`${ws}/second?token=letmein`);
await once(admittedWs, 'open');
admittedWs.send(JSON.stringify({ event: 'whoami', data: null }));
expectEqual(JSON.parse((await once(admittedWs, 'message'))[0]), '/second', 'JSON format: admitted with a token');
admittedWs.close();

clearTimeout(timer);
console.log('global middleware passed');
