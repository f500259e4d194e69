// Must NOT compile: the `joinRoom` ack is a Joined, which has no `sent`.
import { io, Socket } from "socket.io-client";
import type { Chat } from "../../../docs/asyncapi/chat.js";

const socket: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> = io("/chat");
const reply = await socket.emitWithAck("joinRoom", "6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f");
const flag: boolean = reply.sent;
