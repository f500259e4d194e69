// Socket.IO: several arguments, acks, binary arguments. NestJS's IoAdapter passes one argument
// as the body, several as an array (the ack, when last, is taken off); see README.
import { typedBodyIo } from '../lib/deviations.mjs';
import { ROOM } from '../lib/constants.mjs';

const args = (name, step, deviation) => ({
  name: `io args: ${name}`,
  format: 'io',
  ...(deviation ? { deviation } : {}),
  async run(t) {
    const c = t.io('client', '/events');
    if ((await c.connected()) !== 'connect') return;
    await step(c, t);
    await c.settle();
  },
});

export default [
  args("emit('message', {text}, 'extra', ack)", (c) => c.emitAck('message', { text: 'a' }, 'extra')),
  args("emit('message', {text}, 'extra') without an ack", (c) => c.emit('message', { text: 'a' }, 'extra')),
  args("emit('ping', 1, 2, ack)", (c) => c.emitAck('ping', 1, 2)),
  args("emit('ping', 1, 2) without an ack", (c) => c.emit('ping', 1, 2)),
  args("emit('boom', 1, 2, ack): cause.data", (c) => c.emitAck('boom', 1, 2)),
  args("emit('boom', [1, 2], ack): an array argument", (c) => c.emitAck('boom', [1, 2])),
  args("emit('boom', null, ack)", (c) => c.emitAck('boom', null)),
  args("emit('boom', ack): no argument", (c) => c.emitAck('boom')),
  args("emit('boom', undefined, ack)", (c) => c.emitAck('boom', undefined)),
  args("emit('boom') with a binary argument", (c) => c.emitAck('boom', Buffer.from([1, 2, 3]))),
  args("emit('message') with a binary argument", (c) => c.emitAck('message', Buffer.from('hi'))),
  args("emitWithAck('ping')", async (c) => {
    const reply = await c.socket.timeout(10_000).emitWithAck('ping').catch((e) => `rejected ${e.message}`);
    c.rec.push(`emitWithAck ${JSON.stringify(reply)}`);
  }),
  args('chat: emitWithAck joinRoom (on /chat)', async (c, t) => {
    const chat = t.io('chat', '/chat', { auth: { token: t.tokens.valid('alice') } });
    await chat.connected();
    const reply = await chat.socket.timeout(10_000).emitWithAck('joinRoom', ROOM).catch((e) => `rejected ${e.message}`);
    chat.rec.push(`emitWithAck ${JSON.stringify(reply)}`);
    await chat.settle();
  }),
  args('chat: sendMessage with the body spread over two arguments', async (c, t) => {
    const chat = t.io('chat', '/chat', { auth: { token: t.tokens.valid('alice') } });
    await chat.connected();
    chat.emitAck('sendMessage', ROOM, 'hello');
    await chat.settle();
  }),
  args('chat: joinRoom with two arguments', async (c, t) => {
    const chat = t.io('chat', '/chat', { auth: { token: t.tokens.valid('alice') } });
    await chat.connected();
    chat.emitAck('joinRoom', ROOM, 'extra');
    await chat.settle();
  }, {
    client: 'chat',
    ...typedBodyIo('joinRoom', [ROOM, 'extra'], [
      'event userJoined [{"userId":"alice","roomId":["6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f","extra"]}]',
      'ack [{"joined":["6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f","extra"]}]',
    ]),
  }),
];
