// Pastes frames into one WebSocket connection as a person following a printed hint would, with
// the real npm `ws` client, and checks each gets its answer:
//   node paste_frames.mjs <url> <frame> <expected> [<frame> <expected>]...
// Each frame is sent exactly as given. After each, the client waits for a frame equal (as JSON)
// to `expected`; other frames (room events) may come first, but an `exception` or `error`
// event, or the connection closing, fails the run. Exits 0 when every answer came.
import WebSocket from 'ws';
import { deadline, fail } from './check.mjs';

const [url, ...pairs] = process.argv.slice(2);
if (!url || pairs.length === 0 || pairs.length % 2 !== 0) {
  console.error('usage: node paste_frames.mjs <url> <frame> <expected> [<frame> <expected>]...');
  process.exit(2);
}
const timer = deadline(20);

const ws = new WebSocket(url);
const queue = [];
const waiters = [];
ws.on('message', (data) => {
  const text = data.toString();
  const waiter = waiters.shift();
  if (waiter) waiter(text);
  else queue.push(text);
});
ws.on('error', (err) => fail(`${url}: ${err.message}`));
ws.on('close', (code, reason) => fail(`the server closed the connection: ${code} ${reason}`));
const next = () =>
  queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve));

await new Promise((resolve) => ws.once('open', resolve));
for (let i = 0; i < pairs.length; i += 2) {
  const [frame, expected] = [pairs[i], JSON.parse(pairs[i + 1])];
  ws.send(frame);
  for (;;) {
    const text = await next();
    const answer = JSON.parse(text);
    if (answer && (answer.event === 'exception' || answer.event === 'error')) {
      fail(`${frame} was answered with ${text}`);
    }
    if (JSON.stringify(answer) === JSON.stringify(expected)) break;
  }
  console.log(`ok - ${frame} answered with ${pairs[i + 1]}`);
}
ws.removeAllListeners('close');
ws.close(1000);
clearTimeout(timer);
console.log('pasted frames passed');
