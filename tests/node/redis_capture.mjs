// Makes a Node socket.io 4.8 instance with @socket.io/redis-adapter 8.3 publish every kind of
// message the adapter has (broadcasts with rooms, exceptions, binary data and flags; requests
// and the Rust instance's responses), for fuzz/capture.py to record from Redis.
//
// usage: node redis_capture.mjs REDIS_URL RUST_URL
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { io as connect } from "socket.io-client";

const [redisUrl, rust] = process.argv.slice(2);
if (!rust) {
  console.error("usage: node redis_capture.mjs REDIS_URL RUST_URL");
  process.exit(2);
}
setTimeout(() => {
  console.error("redis_capture.mjs: timed out");
  process.exit(1);
}, 30_000).unref();

const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
const http = createServer();
const io = new Server(http, { adapter: createAdapter(pub, sub) });
const nsp = io.of("/events");
nsp.on("connection", (socket) => socket.join("node-room"));
await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
const nodeUrl = `http://127.0.0.1:${http.address().port}`;
while ((await nsp.adapter.serverCount()) < 2) await new Promise((r) => setTimeout(r, 10));

const clients = [];
for (const url of [rust, nodeUrl]) {
  const socket = connect(url + "/events", { transports: ["websocket"], forceNew: true });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  socket.on("ask", (_arg, ack) => ack && ack({ answer: 42 }));
  clients.push(socket);
}

const settle = () => new Promise((r) => setTimeout(r, 100));
const quietly = (promise) => promise.catch(() => {});

nsp.emit("news", { text: "hello", n: 1.5, none: null, list: [1, "two", true] });
nsp.to("room1").emit("roomNews", 1, "two", { three: 3 });
nsp.to(["a", "b"]).except("c").emit("several", "rooms");
nsp.except("node-room").emit("excepted", []);
nsp.emit("binary", Buffer.from([1, 2, 3]), { nested: Buffer.from("nested") });
nsp.volatile.emit("volatile", 1);
nsp.compress(false).emit("uncompressed", "x".repeat(300));
await settle();
await quietly(nsp.fetchSockets());
await quietly(nsp.in("node-room").fetchSockets());
nsp.socketsJoin("joined");
nsp.in("joined").socketsLeave("joined");
nsp.serverSideEmit("hello", { from: "node" }, 2);
await quietly(nsp.serverSideEmitWithAck("helloAck", 1));
await quietly(nsp.timeout(300).emitWithAck("ask", { q: 1 }));
await quietly(nsp.adapter.serverCount());
await settle();
nsp.in("nobody").disconnectSockets(true);
await settle();

for (const socket of clients) socket.disconnect();
io.close();
await Promise.all([pub.quit(), sub.quit()]);
console.log("redis capture done");
process.exit(0);
