// Socket.IO: the main namespace, unknown namespaces, several namespaces on one connection.
const scenario = (name, run) => ({ name: `io namespaces: ${name}`, format: 'io', run });

export default [
  scenario('main namespace /', async (t) => {
    const manager = t.manager();
    const main = t.io('main', '/', { manager });
    await main.connected();
    const events = t.io('events', '/events', { manager });
    await events.connected();
    // No gateway serves '/': an event there has no handler; /events settles it.
    main.emitAck('ping');
    await main.settle(events);
  }),

  scenario('unknown namespace /nope', async (t) => {
    const c = t.io('client', '/nope');
    await c.connected();
  }),

  scenario('unknown namespace /nope, websocket only', async (t) => {
    const c = t.io('client', '/nope', { transports: ['websocket'] });
    await c.connected();
  }),

  scenario('unknown namespace /Events (case)', async (t) => {
    const c = t.io('client', '/Events');
    await c.connected();
  }),

  scenario('/events and /chat on one connection', async (t) => {
    const manager = t.manager();
    const events = t.io('events', '/events', { manager });
    const chat = t.io('chat', '/chat', { manager, auth: { token: t.tokens.valid('alice') } });
    await events.connected();
    await chat.connected();
    events.emitAck('ping');
    chat.emitAck('leaveRoom', 'r');
    await events.settle();
    await chat.settle();
  }),

  scenario('refused /chat next to /events on one connection', async (t) => {
    const manager = t.manager();
    const events = t.io('events', '/events', { manager });
    await events.connected();
    const chat = t.io('chat', '/chat', { manager, auth: { token: 'garbage' } });
    await chat.connected();
    await chat.disconnected();
    // The connection itself survives: /events still answers.
    events.emitAck('ping');
    await events.settle();
  }),

  scenario('ping emitted inside the connect callback', async (t) => {
    const c = t.io('client', '/events', { onConnect: (client) => client.emitAck('ping') });
    await c.connected();
    await c.rec.waitNext((l) => l.startsWith('ack '), 'ack');
    await c.settle();
  }),

  scenario('client disconnects itself', async (t) => {
    const c = t.io('client', '/events');
    await c.connected();
    c.socket.disconnect();
    await c.disconnected();
  }),
];
