// permessage-deflate's trade-off, measured with npm `ws` (the Rust loadgen's tokio-tungstenite
// cannot negotiate the extension). JSON format (the bench contract: `{"event":"echo","data":D}`
// answered with D):
//
//   node deflate.mjs echo --url ws://127.0.0.1:PORT/ --server-pid PID [--conns 20] [--size 16384]
//                         [--warmup 1] [--duration 5] [--no-deflate]
//   node deflate.mjs idle --url ws://127.0.0.1:PORT/ --server-pid PID [--conns 2000] [--size 16384]
//                         [--no-deflate]
//
// echo: `--conns` connections, one request in flight each, payloads of about `--size` bytes of
// JSON records (64 different ones, so a context kept between messages does not see the same
// message again); prints the round trips per second, the server's CPU time per round trip (from
// /proc/PID/task/*/schedstat, every thread) and the bytes on the wire each way per round trip
// (the TCP sockets' counters, frame headers and all).
// idle: `--conns` connections each echo one payload of `--size` bytes, then stay open; prints the
// server's RSS growth per connection 2 s later.
// `--no-deflate` offers no extension (the baseline). Prints one JSON line.
import fs from 'node:fs';
import WebSocket from 'ws';

const [scenario, ...rest] = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = rest.indexOf(name);
  return i === -1 ? fallback : rest[i + 1];
};
const url = arg('--url');
const serverPid = arg('--server-pid');
const deflate = !rest.includes('--no-deflate');
const size = Number(arg('--size', 16384));
if (!['echo', 'idle'].includes(scenario) || !url || !serverPid) {
  console.error('usage: node deflate.mjs echo|idle --url URL --server-pid PID [options]');
  process.exit(2);
}

/** The server's CPU time so far, in nanoseconds, over all its threads. */
function serverCpuNs() {
  let total = 0;
  for (const task of fs.readdirSync(`/proc/${serverPid}/task`)) {
    const stat = fs.readFileSync(`/proc/${serverPid}/task/${task}/schedstat`, 'utf8');
    total += Number(stat.split(' ')[0]);
  }
  return total;
}

/** The server's resident memory, in bytes. */
function serverRss() {
  const status = fs.readFileSync(`/proc/${serverPid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

/** A deterministic pseudo-random generator, so every run sends the same payloads. */
function generator(seed) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel',
  'india', 'juliett', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa'];

/** JSON records of about `bytes` bytes: the kind of data an API sends. */
function payload(bytes, random) {
  const items = [];
  while (JSON.stringify(items).length < bytes) {
    items.push({
      id: Math.floor(random() * 1e9),
      name: `${WORDS[Math.floor(random() * 16)]} ${WORDS[Math.floor(random() * 16)]}`,
      price: Math.round(random() * 100000) / 100,
      inStock: random() > 0.3,
      tags: WORDS.filter(() => random() > 0.8),
    });
  }
  return items;
}

const random = generator(42);
const requests = Array.from({ length: 64 }, () =>
  JSON.stringify({ event: 'echo', data: payload(size, random) }),
);
const payloadBytes = Math.round(requests.reduce((n, r) => n + r.length, 0) / requests.length);

function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: deflate });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Sends request `n` on `ws` and resolves with the answer. */
function echo(ws, n) {
  return new Promise((resolve) => {
    ws.once('message', resolve);
    ws.send(requests[n % requests.length]);
  });
}

const wire = (sockets) =>
  sockets.reduce(
    (sum, ws) => ({ up: sum.up + ws._socket.bytesWritten, down: sum.down + ws._socket.bytesRead }),
    { up: 0, down: 0 },
  );

if (scenario === 'echo') {
  const conns = Number(arg('--conns', 20));
  const warmup = Number(arg('--warmup', 1));
  const duration = Number(arg('--duration', 5));
  const sockets = await Promise.all(Array.from({ length: conns }, connect));
  const negotiated = sockets[0].extensions;
  let measuring = false;
  let stopped = false;
  let roundTrips = 0;
  const loops = sockets.map(async (ws, i) => {
    for (let n = i; !stopped; n++) {
      await echo(ws, n);
      if (measuring) roundTrips++;
    }
  });
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const cpuBefore = serverCpuNs();
  const wireBefore = wire(sockets);
  const start = process.hrtime.bigint();
  measuring = true;
  await new Promise((r) => setTimeout(r, duration * 1000));
  measuring = false;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = serverCpuNs() - cpuBefore;
  const wireAfter = wire(sockets);
  stopped = true;
  await Promise.all(loops);
  for (const ws of sockets) ws.terminate();
  console.log(JSON.stringify({
    scenario, deflate: negotiated, conns, payload_bytes: payloadBytes,
    round_trips: roundTrips,
    rps: Math.round(roundTrips / seconds),
    server_cpu_us_per_rt: Math.round(cpu / roundTrips / 10) / 100,
    server_cpu_share: Math.round((cpu / 1e9 / seconds) * 100) / 100,
    wire_up_per_rt: Math.round((wireAfter.up - wireBefore.up) / roundTrips),
    wire_down_per_rt: Math.round((wireAfter.down - wireBefore.down) / roundTrips),
  }));
} else {
  const conns = Number(arg('--conns', 2000));
  const before = serverRss();
  const sockets = [];
  for (let i = 0; i < conns; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, conns - i) }, async (_, j) => {
        const ws = await connect();
        await echo(ws, i + j);
        return ws;
      }),
    );
    sockets.push(...batch);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const after = serverRss();
  console.log(JSON.stringify({
    scenario, deflate: sockets[0].extensions, conns, payload_bytes: payloadBytes,
    bytes_per_conn: Math.round((after - before) / conns),
  }));
  for (const ws of sockets) ws.terminate();
}
process.exit(0);
