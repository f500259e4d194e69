// JSON format: the chat gateway's rooms, guards and roles, with real clients.
import { typedBodyJson } from '../lib/deviations.mjs';
import { ROOM } from '../lib/constants.mjs';

/** Connects `name` to /chat as `sub` (with `role`), waiting for the handshake. */
async function member(t, name, sub, role) {
  const c = t.json(name, `/chat?token=${t.tokens.valid(sub, role)}`);
  await c.opened();
  return c;
}

const scenario = (name, run, deviation) => ({
  name: `json chat: ${name}`,
  format: 'json',
  run,
  ...(deviation ? { deviation } : {}),
});

export default [
  scenario('two clients: join, userJoined, sendMessage, newMessage, leave, userLeft', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    const bob = await member(t, 'bob', 'bob');

    alice.emit('joinRoom', ROOM);
    await alice.waitRecv('"joined"');

    bob.emit('joinRoom', ROOM);
    await bob.waitRecv('"joined"');
    await alice.waitRecv('"userId":"bob"');

    alice.emit('sendMessage', { roomId: ROOM, message: 'hello bob' });
    await alice.waitRecv('"sent"');
    await bob.waitRecv('newMessage');

    bob.emit('leaveRoom', ROOM);
    await bob.waitRecv('"left"');
    await alice.waitRecv('userLeft');

    // bob has left: alice's next message reaches nobody.
    alice.emit('sendMessage', { roomId: ROOM, message: 'anyone?' });
    await alice.waitRecv('"sent"');
    await bob.settle();
    await alice.settle();
  }),

  scenario('sendMessage reaches the room but not the sender, nor other rooms', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    const bob = await member(t, 'bob', 'bob');
    const carol = await member(t, 'carol', 'carol');
    for (const c of [alice, bob]) {
      c.emit('joinRoom', ROOM);
      await c.waitRecv('"joined"');
    }
    await alice.waitRecv('"userId":"bob"');
    carol.emit('joinRoom', 'elsewhere');
    await carol.waitRecv('"joined"');

    alice.emit('sendMessage', { roomId: ROOM, message: 'hi' });
    await alice.waitRecv('"sent"');
    await bob.waitRecv('newMessage');
    for (const c of [alice, bob, carol]) await c.settle();
  }),

  scenario('two sockets of one user, and rejoining a room', async (t) => {
    const a1 = await member(t, 'alice-1', 'alice');
    const a2 = await member(t, 'alice-2', 'alice');
    a1.emit('joinRoom', ROOM);
    await a1.waitRecv('"joined"');
    a1.emit('joinRoom', ROOM); // already a member
    await a1.waitRecv('"joined"');
    a2.emit('joinRoom', ROOM);
    await a2.waitRecv('"joined"');
    await a1.waitRecv('"userJoined"');
    a2.emit('sendMessage', { roomId: ROOM, message: 'from my other tab' });
    await a2.waitRecv('"sent"');
    await a1.waitRecv('newMessage');
    for (const c of [a1, a2]) await c.settle();
  }),

  scenario('a member that disconnects leaves its rooms', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    const bob = await member(t, 'bob', 'bob');
    for (const c of [alice, bob]) {
      c.emit('joinRoom', ROOM);
      await c.waitRecv('"joined"');
    }
    bob.ws.close(1000);
    await bob.closed();
    // Whether the server has dropped bob from the room yet cannot be seen from outside, and
    // need not be: bob's transcript ends at his close; alice's send must still succeed.
    await alice.settle();
    alice.emit('sendMessage', { roomId: ROOM, message: 'bye' });
    await alice.waitRecv('"sent"');
    await alice.settle();
  }),

  scenario('leaveRoom of a room never joined', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('leaveRoom', ROOM);
    await alice.waitRecv('"left"');
    await alice.settle();
  }),

  scenario('joinRoom with a number body', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('joinRoom', 42);
    await alice.settle();
  }, typedBodyJson('joinRoom', 42, [
    'recv {"event":"userJoined","data":{"userId":"alice","roomId":42}}',
    'recv {"joined":42}',
  ])),

  scenario('joinRoom with an object body', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('joinRoom', { roomId: ROOM });
    await alice.settle();
  }, typedBodyJson('joinRoom', { roomId: ROOM }, [
    'recv {"event":"userJoined","data":{"userId":"alice","roomId":{"roomId":"6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f"}}}',
    'recv {"joined":{"roomId":"6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f"}}',
  ])),

  scenario('joinRoom with a null body', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('joinRoom', null);
    await alice.settle();
  }, typedBodyJson('joinRoom', null, [
    'recv {"event":"userJoined","data":{"userId":"alice","roomId":null}}',
    'recv {"joined":null}',
  ])),

  scenario('joinRoom without a body', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('joinRoom');
    await alice.settle();
  }, typedBodyJson('joinRoom', undefined, [
    'recv {"event":"userJoined","data":{"userId":"alice"}}',
    'recv {}',
  ])),

  scenario('joinRoom with an empty string', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('joinRoom', '');
    await alice.settle();
  }),

  scenario('leaveRoom with a number body', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('leaveRoom', 42);
    await alice.settle();
  }, typedBodyJson('leaveRoom', 42, [
    'recv {"left":42}',
  ])),

  scenario('adminAction as a user without a role', async (t) => {
    const alice = await member(t, 'alice', 'alice');
    alice.emit('adminAction');
    await alice.settle();
  }),

  scenario('adminAction as a user with role "user"', async (t) => {
    const alice = await member(t, 'alice', 'alice', 'user');
    alice.emit('adminAction', { a: 1 });
    await alice.settle();
  }),

  scenario('adminAction as an admin', async (t) => {
    const root = await member(t, 'root', 'root', 'admin');
    root.emit('adminAction');
    await root.waitRecv('success');
    root.emit('adminAction', { any: 'body' });
    await root.waitRecv('success');
    await root.settle();
  }),

  scenario('adminAction as an admin whose role is "Admin"', async (t) => {
    const root = await member(t, 'root', 'root', 'Admin');
    root.emit('adminAction');
    await root.settle();
  }),

  scenario('joinRoom sent inside the open callback', async (t) => {
    // NestJS binds the message handlers at once and does not wait for the async
    // handleConnection; ours runs handle_connection before the first message.
    const c = t.json('client', `/chat?token=${t.tokens.valid('alice')}`, {
      onOpen: (client) => client.emit('joinRoom', ROOM),
    });
    await c.opened();
    await c.waitRecv('"joined"');
    await c.settle();
  }),

  scenario('adminAction sent inside the open callback, as an admin', async (t) => {
    const c = t.json('client', `/chat?token=${t.tokens.valid('root', 'admin')}`, {
      onOpen: (client) => client.emit('adminAction'),
    });
    await c.opened();
    await c.waitRecv('success');
    await c.settle();
  }),

  scenario('sendMessage sent inside the open callback with a bad token', async (t) => {
    const c = t.json('client', '/chat?token=garbage', {
      onOpen: (client) => client.emit('sendMessage', { roomId: ROOM, message: 'sneaky' }),
    });
    await c.opened();
    await c.closed();
  }),
];
