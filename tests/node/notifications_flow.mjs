// The notifications example's event bus, seen by real `ws` clients:
//   node notifications_flow.mjs ws://127.0.0.1:PORT/notifications
// Two devices of user 42 and one of user 7 join their rooms. The test then ships order 1001 of
// user 42 and order 2002 of user 7 (`OrdersService::ship` publishes `order.shipped`) and starts
// the delivery timer (`order.delivered`); the gateway's `#[on_event("order.*")]` handler pushes
// each to the user's room. Each device must get its own user's orders only, shipped before
// delivered. Prints one line per step and exits 0 when every expectation held, 1 otherwise.
import WebSocket from 'ws';
import { deadline, expectEqual, fail } from './check.mjs';
import './record.mjs';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node notifications_flow.mjs ws://host:port/notifications');
  process.exit(2);
}
const timer = deadline(25);

// A client whose incoming frames are queued, so the test can await them in order.
function client(name) {
  const ws = new WebSocket(url);
  const queue = [];
  const waiters = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else queue.push(frame);
  });
  ws.on('error', (err) => fail(`${name}: ${err.message}`));
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  return {
    ws,
    name,
    opened: new Promise((resolve) => ws.once('open', resolve)),
    send: (event, data) => ws.send(JSON.stringify({ event, data })),
    async nextEvent(event) {
      for (;;) {
        const frame = await next();
        if (frame && frame.event === event) return frame.data;
      }
    },
  };
}

const devices = [
  { device: client('phone of 42'), userId: '42', order: '1001' },
  { device: client('laptop of 42'), userId: 42, order: '1001' },
  { device: client('phone of 7'), userId: '7', order: '2002' },
];
await Promise.all(devices.map(({ device }) => device.opened));
for (const { device, userId } of devices) {
  device.send('join', { userId });
  expectEqual(await device.nextEvent('joined'), { message: 'Connected to notifications' }, `${device.name} joined`);
}

// From here the test publishes; each device's first notifications are its own user's order.
await Promise.all(
  devices.map(async ({ device, order }) => {
    expectEqual(await device.nextEvent('notification'), { message: `Order ${order} shipped` }, `${device.name}: shipped`);
    expectEqual(await device.nextEvent('notification'), { message: `Order ${order} delivered` }, `${device.name}: delivered`);
  }),
);

for (const { device } of devices) device.ws.close();
clearTimeout(timer);
console.log('notifications flow passed');
