// permessage-deflate with Chromium, which always offers it:
//   node browser_compression.mjs http://127.0.0.1:PORT [path to chromium, default /usr/bin/chromium]
// A page of the server's origin opens a WebSocket to the /echo gateway (the NestJS JSON
// format), and sends a large compressible message; the echo must come back whole. The 101 is
// read through the DevTools protocol: its Sec-WebSocket-Extensions must agree to
// permessage-deflate, and the page's `WebSocket.extensions` must say so too. Prints one line per
// check and exits 0 when all held.
import { launchChromium } from './browser.mjs';
import { deadline, expectEqual, fail } from './check.mjs';

const [base, executablePath = '/usr/bin/chromium'] = process.argv.slice(2);
if (!base) {
  console.error('usage: node browser_compression.mjs http://host:port [chromium executable]');
  process.exit(2);
}
const timer = deadline(90);

const browser = await launchChromium(executablePath);
const context = await browser.newContext();
const page = await context.newPage();
page.setDefaultTimeout(20_000);
page.on('pageerror', (err) => fail(`the page threw: ${err.message}`));

// The 101's headers, as Chromium received them.
const devtools = await context.newCDPSession(page);
await devtools.send('Network.enable');
const handshake = new Promise((resolve) =>
  devtools.on('Network.webSocketHandshakeResponseReceived', (event) => resolve(event.response)),
);

// Any page of the server's origin: the gateway sees a same-origin upgrade.
await page.goto(`${base}/not-a-page`);
const result = await page.evaluate(async (url) => {
  const items = [];
  for (let i = 0; i < 3000; i++) items.push({ id: i, name: `item ${i}`, tags: ['red', 'green'] });
  const sent = { items };
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('the WebSocket failed to open'));
  });
  const echoed = new Promise((resolve) => {
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.event === 'echo') resolve(message.data);
    };
  });
  ws.send(JSON.stringify({ event: 'echo', data: sent }));
  const data = await echoed;
  ws.close();
  return {
    extensions: ws.extensions,
    length: JSON.stringify(sent).length,
    same: JSON.stringify(data) === JSON.stringify(sent),
  };
}, `${base.replace(/^http/, 'ws')}/echo`);

const response = await handshake;
const headers = Object.fromEntries(
  Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), value]),
);
expectEqual(response.status, 101, 'the upgrade was accepted');
expectEqual(
  headers['sec-websocket-extensions'],
  'permessage-deflate',
  'the 101 agreed to permessage-deflate',
);
expectEqual(result.extensions, 'permessage-deflate', "the page's WebSocket says so too");
if (result.length < 64 * 1024) fail(`the message was only ${result.length} bytes`);
expectEqual(result.same, true, `a ${result.length}-byte message came back whole`);

await browser.close();
clearTimeout(timer);
console.log('browser compression passed');
process.exit(0);
