// A mixed cluster on Redis: two Rust instances (argv: their base URLs) and the Node
// socket.io 4.8 instance this script starts. Two socket.io-client sockets per instance. Checks
// that every broadcast from every instance reaches every matching client exactly once, and that
// each side answers the other's requests (fetchSockets, serverSideEmitWithAck, broadcast acks,
// socketsJoin, disconnectSockets, serverCount).
//
// The Node instance's adapter is chosen by the ADAPTER environment variable:
//   classic (default)  @socket.io/redis-adapter 8.3 `createAdapter` (Redis Pub/Sub) on REDIS_URL;
//   sharded            @socket.io/redis-adapter 8.3 `createShardedAdapter` (sharded Pub/Sub) on a
//                      Redis Cluster: REDIS_URL is a comma-separated list of its node URLs;
//                      SUBSCRIPTION_MODE (default "dynamic") is the adapter's subscriptionMode;
//   streams            @socket.io/redis-streams-adapter 0.3 `createAdapter` on REDIS_URL.
//
// usage: [ADAPTER=classic|sharded|streams] node redis_cluster.mjs REDIS_URL RUST_URL_A RUST_URL_B
import { createServer } from "node:http";
import assert from "node:assert/strict";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { createClient, createCluster } from "redis";
import { io as connect } from "socket.io-client";

const [redisUrl, rustA, rustB] = process.argv.slice(2);
const NSP = "/cluster";
const ADAPTER = process.env.ADAPTER || "classic";
const SUBSCRIPTION_MODE = process.env.SUBSCRIPTION_MODE || "dynamic";
assert.ok(["classic", "sharded", "streams"].includes(ADAPTER), `unknown ADAPTER=${ADAPTER}`);
setTimeout(() => {
  console.error(`redis_cluster.mjs (${ADAPTER}): timed out`);
  process.exit(1);
}, ADAPTER === "classic" ? 25_000 : 40_000).unref();

/** The Node instance's adapter and the Redis clients it uses (quit at the end). */
async function nodeAdapter() {
  switch (ADAPTER) {
    case "classic": {
      const pub = createClient({ url: redisUrl });
      const sub = pub.duplicate();
      await Promise.all([pub.connect(), sub.connect()]);
      return { adapter: createAdapter(pub, sub), pub, clients: [pub, sub] };
    }
    case "sharded": {
      const pub = createCluster({ rootNodes: redisUrl.split(",").map((url) => ({ url })) });
      const sub = pub.duplicate();
      await Promise.all([pub.connect(), sub.connect()]);
      const adapter = createShardedAdapter(pub, sub, { subscriptionMode: SUBSCRIPTION_MODE });
      return { adapter, pub, clients: [pub, sub] };
    }
    case "streams": {
      const client = createClient({ url: redisUrl });
      await client.connect();
      return { adapter: createStreamsAdapter(client), pub: client, clients: [client] };
    }
  }
}

/**
 * With the sharded adapter in a dynamic subscription mode, a broadcast to a single room goes to
 * that room's own channel (`socket.io#/cluster#ROOM#`), which each instance subscribes to, in
 * the background, when the room appears on it: waits until Redis counts `count` subscribers of
 * `room`'s channel. A no-op with the other adapters and modes.
 */
async function roomSubscribed(room, count) {
  const dynamic =
    ADAPTER === "sharded" &&
    (SUBSCRIPTION_MODE === "dynamic-private" ||
      (SUBSCRIPTION_MODE === "dynamic" && !ids.includes(room)));
  if (!dynamic) return;
  const channel = `socket.io#${NSP}#${room}#`;
  // Routed by the channel's slot to the master that owns it.
  while (true) {
    const answer = await pub.sendCommand(channel, true, ["PUBSUB", "SHARDNUMSUB", channel]);
    const subscribers = answer[1];
    if (subscribers >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

// --- the Node instance ---------------------------------------------------------------------
const { adapter, pub, clients } = await nodeAdapter();
const http = createServer();
const io = new Server(http, { adapter });
const nsp = io.of(NSP);
nsp.on("connection", (socket) => {
  socket.on("join", (rooms, ack) => {
    socket.data = { joined: rooms };
    socket.join(rooms);
    ack("ok");
  });
  socket.on("broadcast", ({ rooms = [], except = [], event, data }, ack) => {
    nsp.to(rooms).except(except).emit(event, data);
    ack("ok");
  });
  socket.on("broadcastBinary", ({ rooms, event }, ack) => {
    nsp.to(rooms).emit(event, "bytes", Buffer.from([1, 2, 3]));
    ack("ok");
  });
});
nsp.on("hello-servers", (arg, callback) => callback({ from: "node", got: [arg] }));
await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
const nodeUrl = `http://127.0.0.1:${http.address().port}`;

// The JS adapters subscribe in the background: wait until Redis counts all three instances
// (the subscribers of the namespace's main channel, with every adapter).
while ((await nsp.adapter.serverCount()) < 3) await new Promise((r) => setTimeout(r, 10));

// --- clients: on each instance, one in room a, one in rooms b and muted ----------------------
const urls = [rustA, rustB, nodeUrl];
const members = [];
for (const [instance, url] of urls.entries()) {
  for (const rooms of [["a"], ["b", "muted"]]) {
    const socket = connect(url + NSP, { transports: ["websocket"], forceNew: true });
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
    const member = { socket, instance, rooms, id: socket.id, events: [], waiters: [] };
    socket.onAny((event, ...args) => {
      if (event === "vote") return; // answered below, not a broadcast under test
      member.events.push([event, ...args]);
      for (const w of member.waiters.splice(0)) w();
    });
    socket.on("vote", (question, callback) => callback(socket.id));
    assert.equal(await socket.emitWithAck("join", rooms), "ok");
    members.push(member);
  }
}
const ids = members.map((m) => m.id).sort();
// Rooms that single-room broadcasts below go to: a, and with dynamic-private the socket ids.
await roomSubscribed("a", 3);
for (const id of ids) await roomSubscribed(id, 1);

/** Waits until `member` has `count` events named `event`. */
async function waitFor(member, event, count) {
  while (member.events.filter(([e]) => e === event).length < count) {
    await new Promise((resolve) => member.waiters.push(resolve));
  }
}

/**
 * Takes the events before the `count`-th `marker` out of `member.events`.
 *
 * With the sharded adapter, a broadcast to one room may go to that room's own channel, on
 * another shard than the marker's main channel, and so arrive after the marker: there it waits
 * for the `expected` events as well, and takes every event received (the script sends nothing
 * else before it has checked them).
 */
async function eventsUntil(member, marker, count, expected) {
  await waitFor(member, marker, count);
  if (ADAPTER === "sharded") {
    while (member.events.filter(([e]) => e !== marker).length < expected) {
      await new Promise((resolve) => member.waiters.push(resolve));
    }
    return member.events.splice(0).filter(([e]) => e !== marker);
  }
  let seen = 0;
  let end = 0;
  while (seen < count) if (member.events[end++][0] === marker) seen++;
  return member.events.splice(0, end).filter(([e]) => e !== marker);
}

// --- broadcasts from every instance ---------------------------------------------------------
for (const [origin] of urls.entries()) {
  const sender = members.find((m) => m.instance === origin).socket;
  const target = members.find((m) => m.instance === (origin + 1) % 3 && m.rooms.includes("b"));
  const specs = [
    { event: "all", data: origin },
    { rooms: ["a"], event: "toA", data: origin },
    { rooms: ["a", "b"], except: ["muted"], event: "aNotMuted", data: origin },
    { rooms: [target.id], event: "direct", data: origin },
  ];
  for (const spec of specs) assert.equal(await sender.emitWithAck("broadcast", spec), "ok");
  if (urls[origin] === nodeUrl) {
    assert.equal(await sender.emitWithAck("broadcastBinary", { rooms: ["a"], event: "bin" }), "ok");
  }
  assert.equal(await sender.emitWithAck("broadcast", { event: "marker", data: origin }), "ok");
}
for (const m of members) {
  const want = [];
  for (const origin of [0, 1, 2]) {
    want.push(`all:${origin}`);
    if (m.rooms.includes("a")) want.push(`toA:${origin}`, `aNotMuted:${origin}`);
    if (m.instance === (origin + 1) % 3 && m.rooms.includes("b")) want.push(`direct:${origin}`);
    if (origin === 2 && m.rooms.includes("a")) want.push("bin:bytes:1,2,3");
  }
  const got = (await eventsUntil(m, "marker", 3, want.length))
    .map(([event, data, bytes]) =>
      event === "bin" ? `bin:${data}:${[...Buffer.from(bytes)]}` : `${event}:${data}`,
    )
    .sort();
  assert.deepEqual(got, want.sort(), `client ${m.id} on instance ${m.instance}`);
}
console.log("broadcasts: every client got each of its broadcasts once");

// --- Node asks, Rust answers ------------------------------------------------------------------
const fetched = await nsp.fetchSockets();
assert.deepEqual(fetched.map((s) => s.id).sort(), ids);
const rustSocket = fetched.find((s) => s.id === members[0].id);
assert.deepEqual([...rustSocket.rooms].sort(), [members[0].id, "a"].sort());
assert.equal(rustSocket.handshake.url.startsWith("/socket.io/"), true, rustSocket.handshake.url);
assert.equal(typeof rustSocket.handshake.issued, "number");
assert.deepEqual(rustSocket.data, { joined: members[0].rooms }, "a Rust socket's ClusterData");
assert.equal((await nsp.in("a").fetchSockets()).length, 3);

const answers = await nsp.serverSideEmitWithAck("hello-servers", 7);
assert.deepEqual(answers.map((a) => [a.from, a.got]), [["rust", [7]], ["rust", [7]]]);

const votes = await nsp.timeout(10_000).emitWithAck("vote", "lunch?");
assert.deepEqual(votes.sort(), ids);

nsp.in("b").socketsJoin("c");
// The JS adapter applies socketsJoin to its own sockets when its request comes back from Redis.
while ((await nsp.in("c").fetchSockets()).length < 3) await new Promise((r) => setTimeout(r, 10));
await roomSubscribed("c", 3);
nsp.to("c").emit("inC", 1);
nsp.emit("marker", 0);
for (const m of members) {
  const want = m.rooms.includes("b") ? ["inC"] : [];
  const got = (await eventsUntil(m, "marker", 1, want.length)).map(([e]) => e);
  assert.deepEqual(got, want, `socketsJoin reached ${m.id}`);
}
console.log("node -> rust: fetchSockets, serverSideEmitWithAck, acks, socketsJoin answered");

// --- Rust asks, Node answers ----------------------------------------------------------------
const asker = members[0].socket;
assert.equal(await asker.emitWithAck("serverCount", null), 3);
const rustFetched = await asker.emitWithAck("fetch", {});
assert.deepEqual(rustFetched.map((s) => s.id), ids);
const nodeMember = members.find((m) => m.instance === 2 && m.rooms.includes("a"));
const fromNode = rustFetched.find((s) => s.id === nodeMember.id);
assert.deepEqual(fromNode.rooms, [nodeMember.id, "a"].sort());
assert.deepEqual(fromNode.data, { joined: nodeMember.rooms }, "a Node socket's socket.data");

const serverAnswers = await asker.emitWithAck("askServers", 5);
assert.deepEqual(serverAnswers.map((a) => [a.from, a.got]).sort(), [["node", [5]], ["rust", [5]]]);

assert.equal(await asker.emitWithAck("voteAll", {}), "ok");
await waitFor(members[0], "votes", 1);
const rustVotes = members[0].events.find(([e]) => e === "votes")[1];
assert.deepEqual(rustVotes, ids);
members[0].events = members[0].events.filter(([e]) => e !== "votes");

assert.equal(await asker.emitWithAck("socketsJoin", { rooms: ["a"], join: ["d"] }), "ok");
await roomSubscribed("d", 3);
assert.equal(await asker.emitWithAck("broadcast", { rooms: ["d"], event: "inD", data: 1 }), "ok");
assert.equal(await asker.emitWithAck("broadcast", { event: "marker", data: 0 }), "ok");
for (const m of members) {
  const want = m.rooms.includes("a") ? ["inD"] : [];
  const got = (await eventsUntil(m, "marker", 1, want.length)).map(([e]) => e);
  assert.deepEqual(got, want, `socketsJoin from rust reached ${m.id}`);
}
console.log("rust -> node: serverCount, fetchSockets, serverSideEmitWithAck, acks, socketsJoin answered");

// --- disconnects both ways ------------------------------------------------------------------
const disconnected = (m) => new Promise((resolve) => m.socket.once("disconnect", resolve));
const rustVictim = members.find((m) => m.instance === 1);
const nodeVictim = members.find((m) => m.instance === 2 && m.rooms.includes("b"));
const reasons = [disconnected(rustVictim), disconnected(nodeVictim)];
nsp.in(rustVictim.id).disconnectSockets();
assert.equal(await asker.emitWithAck("disconnectSockets", { rooms: [nodeVictim.id] }), "ok");
assert.deepEqual(await Promise.all(reasons), ["io server disconnect", "io server disconnect"]);
console.log("disconnectSockets: both ways");

for (const m of members) m.socket.close();
io.close();
await Promise.all(clients.map((c) => c.quit())).catch(() => {});
console.log("redis cluster passed");
process.exit(0);
