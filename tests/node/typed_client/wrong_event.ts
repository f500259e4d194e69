// Must NOT compile: an event the chat gateway does not handle.
import { io, Socket } from "socket.io-client";
import type { Chat } from "../../../docs/asyncapi/chat.js";

const socket: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> = io("/chat");
socket.emit("joinRoooom", "6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f");
