// Must NOT compile: `sendMessage` takes a SendMessageDto, not a string.
import { io, Socket } from "socket.io-client";
import type { Chat } from "../../../docs/asyncapi/chat.js";

const socket: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> = io("/chat");
socket.emit("sendMessage", "hello", () => {});
