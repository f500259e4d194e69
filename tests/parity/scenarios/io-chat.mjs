// Socket.IO: the chat gateway's rooms, guards and roles.
import { typedBodyIo } from '../lib/deviations.mjs';
import { ROOM } from '../lib/constants.mjs';

async function member(t, name, sub, role, options = {}) {
  const c = t.io(name, '/chat', { auth: { token: t.tokens.valid(sub, role) }, ...options });
  await c.connected();
  return c;
}

const ack = (c) => c.rec.waitNext((l) => l.startsWith('ack ') || l.startsWith('disconnect'), 'ack');
const scenario = (name, run, deviation) => ({
  name: `io chat: ${name}`,
  format: 'io',
  run,
  ...(deviation ? { deviation } : {}),
});

export default [
  scenario('two clients: join, userJoined, sendMessage, newMessage, leave, userLeft', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    const bob = await member(t, 'bob', 'bob', undefined, { transports: ['websocket'] });

    alice.emitAck('joinRoom', ROOM);
    await ack(alice);
    bob.emitAck('joinRoom', ROOM);
    await ack(bob);
    await alice.waitEvent('userJoined'); // bob's (her own came before her ack)

    alice.emitAck('sendMessage', { roomId: ROOM, message: 'hello bob' });
    await ack(alice);
    await bob.waitEvent('newMessage');

    bob.emitAck('leaveRoom', ROOM);
    await ack(bob);
    await alice.waitEvent('userLeft');

    alice.emitAck('sendMessage', { roomId: ROOM, message: 'anyone?' });
    await ack(alice);
    await bob.settle();
    await alice.settle();
  }),

  scenario('joinRoom without an ack', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('joinRoom', ROOM);
    await alice.settle();
  }),

  scenario('joinRoom with a number body', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emitAck('joinRoom', 42);
    await alice.settle();
  }, typedBodyIo('joinRoom', 42, [
    'event userJoined [{"userId":"alice","roomId":42}]',
    'ack [{"joined":42}]',
  ])),

  scenario('joinRoom with no argument', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emitAck('joinRoom');
    await alice.settle();
  }, typedBodyIo('joinRoom', undefined, [
    'event userJoined [{"userId":"alice"}]',
    'ack [{}]',
  ])),

  scenario('leaveRoom of a room never joined', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emitAck('leaveRoom', ROOM);
    await alice.settle();
  }),

  scenario('adminAction as a user without a role', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emitAck('adminAction');
    await alice.settle();
  }),

  scenario('adminAction as an admin', async (t) => {
    const root = await member(t, 'root', 'root', 'admin');
    root.emitAck('adminAction');
    await ack(root);
    root.emit('adminAction', { any: 'body' });
    await root.settle();
  }),

  scenario('joinRoom emitted inside the connect callback', async (t) => {
    const c = t.io('client', '/chat', {
      auth: { token: t.tokens.valid('alice') },
      onConnect: (client) => client.emitAck('joinRoom', ROOM),
    });
    await c.connected();
    await ack(c);
    await c.settle();
  }),

  scenario('joinRoom emitted before connecting (buffered by the client)', async (t) => {
    const c = t.io('client', '/chat', { auth: { token: t.tokens.valid('alice') } });
    c.emitAck('joinRoom', ROOM);
    await c.connected();
    await ack(c);
    await c.settle();
  }),

  scenario('sendMessage emitted inside the connect callback with a bad token', async (t) => {
    const c = t.io('client', '/chat', {
      auth: { token: 'garbage' },
      onConnect: (client) => client.emitAck('sendMessage', { roomId: ROOM, message: 'sneaky' }),
    });
    await c.connected();
    await c.disconnected();
  }),
];
