// A dynamic gateway on /workspaces/{workspace} (at most 2 live namespaces) seen by the real
// socket.io-client 4.8 and `ws`:   node dynamic_namespaces.mjs http://127.0.0.1:3000 first|again
// (`example`: the chat example's WorkspacesGateway answers whoami in both formats.)
// `first`: two concrete namespaces, their parameters, isolated rooms and broadcasts across
// both wire formats, and the bound refusing a third. `again` (once the server dropped them):
// the namespaces are created anew. Prints one line per step; exits 0 when every expectation held.
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { deadline, expectEqual, once } from './check.mjs';
import './record.mjs';

const [base, phase] = process.argv.slice(2);
const ws = base.replace('http', 'ws');
const timer = deadline(20);
const options = { transports: ['websocket'], reconnection: false, forceNew: true };

async function sio(nsp) {
  const socket = io(`${base}${nsp}`, options);
  await once(socket, 'connect');
  return socket;
}

async function json(path) {
  const socket = new WebSocket(`${ws}${path}`);
  await once(socket, 'open');
  return socket;
}

const ask = (socket, event, data) => socket.timeout(5000).emitWithAck(event, data);

/** The next JSON-format frame of `socket`, parsed. */
async function nextFrame(socket) {
  return JSON.parse((await once(socket, 'message'))[0]);
}

if (phase === 'first') {
  const acme1 = await sio('/workspaces/acme');
  const acme2 = await sio('/workspaces/acme');
  const globex = await sio('/workspaces/globex');
  const acmeJson = await json('/workspaces/acme');
  expectEqual(await ask(acme1, 'whoami'), { workspace: 'acme' }, 'socket.io: params of /workspaces/acme');
  expectEqual(await ask(globex, 'whoami'), { workspace: 'globex' }, 'socket.io: params of /workspaces/globex');
  acmeJson.send(JSON.stringify({ event: 'whoami' }));
  expectEqual(await nextFrame(acmeJson), { workspace: 'acme' }, 'JSON format: params at /workspaces/acme');

  // The same room name in both namespaces: a shout in acme reaches acme's members only.
  expectEqual(await ask(acme2, 'join', 'general'), 'joined', 'acme: a socket.io client joins general');
  expectEqual(await ask(globex, 'join', 'general'), 'joined', 'globex: a client joins general');
  acmeJson.send(JSON.stringify({ event: 'join', data: 'general' }));
  expectEqual(await nextFrame(acmeJson), 'joined', 'acme: a JSON-format client joins general');
  const heardByAcme2 = once(acme2, 'shouted');
  const heardByJson = nextFrame(acmeJson);
  acme1.emit('shout', { room: 'general', text: 'hi acme' });
  expectEqual((await heardByAcme2)[0], { workspace: 'acme', text: 'hi acme' }, 'acme general: socket.io member hears it');
  expectEqual(await heardByJson, { event: 'shouted', data: { workspace: 'acme', text: 'hi acme' } }, 'acme general: JSON member hears it');
  // Had acme's shout leaked into globex, globex would get it before its own (sent later).
  const heardByGlobex = once(globex, 'shouted');
  globex.emit('shout', { room: 'general', text: 'hi globex' });
  expectEqual((await heardByGlobex)[0], { workspace: 'globex', text: 'hi globex' }, 'globex general: only its own shout');

  // Two live namespaces is the bound: a third is refused as an unknown namespace.
  const refused = io(`${base}/workspaces/initech`, options);
  const [err] = await once(refused, 'connect_error');
  expectEqual(err.message, 'Invalid namespace', 'socket.io: a third namespace is refused');
  refused.close();
  const refusedJson = new WebSocket(`${ws}/workspaces/initech`);
  const [request, res] = await once(refusedJson, 'unexpected-response');
  expectEqual(res.statusCode, 404, 'JSON format: a third namespace is refused with 404');
  // Handling `unexpected-response` leaves the connection to us (else the process waits for the
  // server to close it).
  request.destroy();
  // A live namespace still admits clients at the bound.
  const acme3 = await sio('/workspaces/acme');
  expectEqual(await ask(acme3, 'whoami'), { workspace: 'acme' }, 'a live namespace admits more clients at the bound');

  for (const socket of [acme1, acme2, acme3, globex]) socket.close();
  acmeJson.close();
} else if (phase === 'again') {
  // The first phase's namespaces were dropped: the bound has room, and globex is created anew.
  const initech = await sio('/workspaces/initech');
  expectEqual(await ask(initech, 'whoami'), { workspace: 'initech' }, 'a new namespace once the others were dropped');
  const globexJson = await json('/workspaces/globex');
  globexJson.send(JSON.stringify({ event: 'whoami' }));
  expectEqual(await nextFrame(globexJson), { workspace: 'globex' }, 'globex is created anew');
  initech.close();
  globexJson.close();
} else if (phase === 'example') {
  // The chat example's WorkspacesGateway, in both wire formats.
  const acme = await sio('/workspaces/acme');
  expectEqual(await ask(acme, 'whoami'), { workspace: 'acme' }, 'socket.io: the example answers whoami');
  const globexJson = await json('/workspaces/globex');
  globexJson.send(JSON.stringify({ event: 'whoami' }));
  expectEqual(await nextFrame(globexJson), { workspace: 'globex' }, 'JSON format: the example answers whoami');
  acme.close();
  globexJson.close();
} else {
  console.error(`unknown phase ${phase}`);
  process.exit(1);
}

clearTimeout(timer);
console.log(`dynamic namespaces ${phase} passed`);
