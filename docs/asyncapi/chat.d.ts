// Generated from the gateway declarations (gateway-core). Do not edit.
//
// import { io, Socket } from "socket.io-client";
// const chat: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> = io("/chat");

/** `error` data when a connection is refused: `{ message: "Authentication failed" }`. */
export interface ConnectionError {
  /** Why. */
  message: string;
}

/** `joinRoom` reply: `{ joined: roomId }`. */
export interface Joined {
  /** The room joined. */
  joined: string;
}

/** `leaveRoom` reply: `{ left: roomId }`. */
export interface Left {
  /** The room left. */
  left: string;
}

/** `newMessage` data: `{ userId, message, timestamp }`. */
export interface NewMessage {
  /** The sender (absent for a token without `sub`). */
  userId?: unknown;
  /** The text. */
  message: string;
  /** When the server relayed it, ISO 8601. */
  timestamp: string;
}

/** The `message` reply's data: `{ received: true }`. */
export interface Received {
  /** Always `true`. */
  received: boolean;
}

/** `userJoined` / `userLeft` data: `{ userId, roomId }`. */
export interface RoomEvent {
  /** Who joined or left (absent for a token without `sub`). */
  userId?: unknown;
  /** Which room. */
  roomId: string;
}

/** The guide's `SendMessageDto`: `roomId` a UUID, `message` a non-empty string of at most 1000 characters. */
export interface SendMessageDto {
  /** The room to send to (`@IsUUID()`). */
  roomId: string;
  /** The text (`@IsString() @IsNotEmpty() @MaxLength(1000)`). */
  message: string;
}

/** `sendMessage` reply: `{ sent: true }`. */
export interface Sent {
  /** Always `true`. */
  sent: boolean;
}

/** `adminAction` reply: `{ success: true }`. */
export interface Success {
  /** Always `true`. */
  success: boolean;
}

/** An error, as NestJS's `BaseWsExceptionFilter` sends it: `{status, message}` for an exception made with a message, the exception's own object or array as is (a `ValidationPipe`'s errors, say). A custom filter may send another shape. */
export type WsException = ({
  status: "error";
  /** The exception's message. */
  message?: unknown;
  cause?: {
    pattern: string;
    data: unknown;
  };
}) | ({ [key: string]: unknown } | unknown[]);

/** Socket.IO namespace `/chat`. */
export declare namespace Chat {
  interface ServerToClientEvents {
    error: (data: ConnectionError) => void;
    userJoined: (data: RoomEvent) => void;
    userLeft: (data: RoomEvent) => void;
    newMessage: (data: NewMessage) => void;
    exception: (data: WsException) => void;
  }
  interface ClientToServerEvents {
    joinRoom: (data: string, callback: (reply: Joined) => void) => void;
    leaveRoom: (data: string, callback: (reply: Left) => void) => void;
    sendMessage: (data: SendMessageDto, callback: (reply: Sent) => void) => void;
    adminAction: (callback: (reply: Success) => void) => void;
  }
}

/** Socket.IO namespace `/events`. */
export declare namespace Events {
  interface ServerToClientEvents {
    message: (data: Received) => void;
    exception: (data: WsException) => void;
  }
  interface ClientToServerEvents {
    message: (data: unknown) => void;
    ping: (callback: (reply: string) => void) => void;
    boom: () => void;
    boomObject: () => void;
    secret: (callback: (reply: string) => void) => void;
    crash: () => void;
  }
}

/** Socket.IO namespace `/workspaces/{workspace}`. */
export declare namespace WorkspacesWorkspace {
  interface ServerToClientEvents {
    announcement: (data: unknown) => void;
    exception: (data: WsException) => void;
  }
  interface ClientToServerEvents {
    whoami: (callback: (reply: unknown) => void) => void;
    announce: (data: unknown) => void;
  }
}

