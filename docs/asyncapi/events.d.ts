// Generated from the gateway declarations (gateway-core). Do not edit.
//
// import { io, Socket } from "socket.io-client";
// const chat: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> = io("/chat");

/** The `message` reply's data: `{ received: true }`. */
export interface Received {
  /** Always `true`. */
  received: boolean;
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

