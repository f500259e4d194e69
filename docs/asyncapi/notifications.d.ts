// Generated from the gateway declarations (gateway-core). Do not edit.
//
// import { io, Socket } from "socket.io-client";
// const chat: Socket<Chat.ServerToClientEvents, Chat.ClientToServerEvents> = io("/chat");

/** `join` body: `{ userId }`. */
export interface JoinDto {
  /** The user whose notifications this socket wants. */
  userId: (UserId);
}

/** `joined` data: `{ message: "Connected to notifications" }`, and `notification` data from [`NotificationsService::broadcast_notification`] and from order events (`"Order 1001 shipped"`). */
export interface Notice {
  /** The text. */
  message: string;
}

/** A user id as clients send it: a string or a number. */
export type UserId = (string) | (number);

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

/** Socket.IO namespace `/notifications`. */
export declare namespace Notifications {
  interface ServerToClientEvents {
    joined: (data: Notice) => void;
    notification: (data: Notice) => void;
    exception: (data: WsException) => void;
  }
  interface ClientToServerEvents {
    join: (data: JoinDto) => void;
  }
}

