// A socket.io-client typed with the chat example's generated event maps
// (docs/asyncapi/chat.d.ts, from `cargo run --example chat -- --emit-types DIR`). It compiles
// with `tsc --strict`, then runs against the chat example: alice and bob join a room, alice
// sends a message, bob receives it, and every payload is checked at runtime too.
//
// node dist/client.js URL ALICE_TOKEN BOB_TOKEN ROOM_ID
import { io, Socket } from "socket.io-client";
import type { Chat, Joined, NewMessage, RoomEvent, Sent } from "../../../docs/asyncapi/chat.js";

type ChatSocket = Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents>;

const [url, aliceToken, bobToken, roomId] = process.argv.slice(2);

function connect(token: string): Promise<ChatSocket> {
  const socket: ChatSocket = io(`${url}/chat`, { auth: { token }, transports: ["websocket"] });
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
    socket.on("error", (data) => reject(new Error(`refused: ${data.message}`)));
  });
}

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`unexpected: ${what}`);
  }
}

const timeout = setTimeout(() => {
  console.error("timed out");
  process.exit(1);
}, 20000);

const alice = await connect(aliceToken);
const bob = await connect(bobToken);

const bobJoined: Joined = await bob.emitWithAck("joinRoom", roomId);
check(bobJoined.joined === roomId, `bob joined ${JSON.stringify(bobJoined)}`);

const seenJoin = new Promise<RoomEvent>((resolve) => bob.once("userJoined", resolve));
const aliceJoined: Joined = await alice.timeout(10000).emitWithAck("joinRoom", roomId);
check(aliceJoined.joined === roomId, `alice joined ${JSON.stringify(aliceJoined)}`);
const join = await seenJoin;
check(join.roomId === roomId && join.userId === "alice", `userJoined ${JSON.stringify(join)}`);

const received = new Promise<NewMessage>((resolve) => bob.once("newMessage", resolve));
const sent: Sent = await alice.emitWithAck("sendMessage", { roomId, message: "hello, typed" });
check(sent.sent === true, `sendMessage reply ${JSON.stringify(sent)}`);
const message = await received;
check(
  message.message === "hello, typed" && message.userId === "alice" && typeof message.timestamp === "string",
  `newMessage ${JSON.stringify(message)}`,
);

// A payload of the DTO's shape that breaks its rules: the server answers with the `exception`
// event instead of the ack.
const refused = new Promise((resolve) => alice.once("exception", resolve));
alice.emit("sendMessage", { roomId: "not-a-uuid", message: "x" }, () => check(false, "an ack"));
const exception = await refused;
check(JSON.stringify(exception).includes("roomId must be a UUID"), `exception ${JSON.stringify(exception)}`);

alice.disconnect();
bob.disconnect();
clearTimeout(timeout);
console.log("typed client ok");
