// The chat example's browser demo (GET /) in headless Chromium, driven by npm playwright-core
// with the system's Chromium (Debian's `chromium` package):
//   node browser_chat.mjs http://127.0.0.1:PORT [path to chromium, default /usr/bin/chromium]
// Two pages sign in as alice and bob through the demo token endpoint, join the same room, and
// alice's message appears on bob's page; then alice sends an empty message and a message to a
// room that is not a UUID, and the gateway's validation errors appear on her page. Every step
// waits for what the page shows. Prints one line per step and exits 0 when all held.
import { launchChromium } from './browser.mjs';
import { deadline, fail } from './check.mjs';

const [base, executablePath = '/usr/bin/chromium'] = process.argv.slice(2);
if (!base) {
  console.error('usage: node browser_chat.mjs http://host:port [chromium executable]');
  process.exit(2);
}
const ROOM = '6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f';
const STEP_TIMEOUT_MS = 20_000;
const timer = deadline(90);

const browser = await launchChromium(executablePath);

/** A page of its own (separate storage) at the demo, signed in as `name`. */
async function signedIn(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('pageerror', (err) => fail(`${name}'s page threw: ${err.message}`));
  await page.goto(`${base}/`);
  await page.fill('#name', name);
  await page.click('#sign-in button');
  await page.locator('#status', { hasText: `Signed in as ${name}` }).waitFor();
  console.log(`ok - ${name} signed in`);
  return page;
}

/** Joins `room` from `page` and waits until the page says it is in it. */
async function join(page, name, room) {
  await page.fill('#room', room);
  await page.click('#join button');
  await page.locator('#current-room', { hasText: room }).waitFor();
  console.log(`ok - ${name} joined ${room}`);
}

async function send(page, text) {
  await page.fill('#message', text);
  await page.click('#send button');
}

/** Waits for a line of `kind` (message, notice, error) containing `text` in the page's log. */
async function shown(page, kind, text, what) {
  await page.locator(`#log li.${kind}`, { hasText: text }).waitFor();
  console.log(`ok - ${what}`);
}

try {
  const alice = await signedIn('alice');
  const bob = await signedIn('bob');

  await join(alice, 'alice', ROOM);
  await join(bob, 'bob', ROOM);
  await shown(alice, 'notice', 'bob joined the room', "alice's page shows bob joining");

  await send(alice, 'hello from alice');
  await shown(bob, 'message', 'alice: hello from alice', "alice's message appears on bob's page");
  await shown(alice, 'mine', 'alice: hello from alice', "alice's page shows her message as sent");

  // SendMessageDto: the message must not be empty, the room must be a UUID.
  await send(alice, '');
  await shown(alice, 'error', 'sendMessage refused: message should not be empty', 'an empty message is refused, and the page says why');
  await join(alice, 'alice', 'general');
  await send(alice, 'hi general');
  await shown(alice, 'error', 'sendMessage refused: roomId must be a UUID', 'a room that is not a UUID is refused, and the page says why');

  if ((await bob.locator('#log li.error').count()) !== 0) {
    fail(`bob's page shows errors: ${await bob.locator('#log li.error').allTextContents()}`);
  }
  console.log("ok - bob's page shows no errors");
} catch (err) {
  fail(err.stack || String(err));
} finally {
  await browser.close();
}
clearTimeout(timer);
console.log('browser chat passed');
