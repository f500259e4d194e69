// Everything that differs between the two NestJS adapters, in one place.
//
// The gateways are written the way the guide writes them for socket.io (`client.emit`,
// `client.join`, `server.to(room).emit`, `client.data`). Under @nestjs/platform-ws the client is
// a bare `ws` WebSocket: it has no `emit` (its EventEmitter `emit` only fires local listeners),
// no rooms and no `data`. These helpers send NestJS's JSON frame `{event, data}` instead, and keep
// the rooms in a Map, as a NestJS developer on platform-ws has to.
import type { IncomingMessage } from 'node:http';
import type { Namespace, Socket } from 'socket.io';
import type { WebSocket, WebSocketServer } from 'ws';

/** Which adapter the app runs on: `ADAPTER=ws` (platform-ws) or `ADAPTER=io` (platform-socket.io). */
export const ADAPTER: 'ws' | 'io' = (() => {
  const value = process.env.ADAPTER;
  if (value !== 'ws' && value !== 'io') {
    throw new Error(`ADAPTER must be "ws" or "io", got ${JSON.stringify(value)}`);
  }
  return value;
})();
export const isWs = ADAPTER === 'ws';

/** A platform-ws client, with the `data` bag socket.io sockets have. */
export type WsClient = WebSocket & { data?: Record<string, any> };
/**
 * A connected client under either adapter. Being a union it is emitted as `Object` in
 * `design:paramtypes`, so a method-level ValidationPipe leaves `@ConnectedSocket()` alone (with
 * the `Socket` class there, `transform: true` would replace the socket by `new Socket()`).
 */
export type Client = Socket | WsClient;
/** The `@WebSocketServer()` of a gateway: a socket.io namespace or a `ws` server. */
export type GatewayServer = Namespace | WebSocketServer;

const OPEN = 1; // WebSocket.OPEN

/** `client.data`; a `ws` client gets an empty one on first use. */
export function clientData(client: Client): Record<string, any> {
  if (isWs) {
    const ws = client as WsClient;
    return (ws.data ??= {});
  }
  return (client as Socket).data;
}

/** `client.emit(event, data)`: a socket.io event, or the JSON frame `{event, data}`. */
export function emit(client: Client, event: string, data: unknown): void {
  if (isWs) {
    const ws = client as WsClient;
    if (ws.readyState === OPEN) ws.send(JSON.stringify({ event, data }));
    return;
  }
  (client as Socket).emit(event, data);
}

/** `client.disconnect()`; a `ws` client is closed with 1000 (a normal closure, no reason). */
export function disconnect(client: Client): void {
  if (isWs) (client as WsClient).close(1000);
  else (client as Socket).disconnect();
}

/** The handshake's headers and query: socket.io keeps them on the socket, platform-ws passes the
 * upgrade request to `handleConnection` as its second argument. */
export function handshake(
  client: Client,
  request?: IncomingMessage,
): { headers: IncomingMessage['headers']; query: (name: string) => unknown; auth: Record<string, unknown> } {
  if (isWs) {
    const url = new URL(request?.url ?? '/', 'http://localhost');
    return {
      headers: request?.headers ?? {},
      query: (name) => url.searchParams.get(name) ?? undefined,
      auth: {},
    };
  }
  const { headers, query, auth } = (client as Socket).handshake;
  return { headers, query: (name) => query[name], auth };
}

// platform-ws rooms: room name -> member sockets. A socket leaves them all when it closes.
const wsRooms = new Map<string, Set<WsClient>>();

export function join(client: Client, room: string): void {
  if (!isWs) {
    void (client as Socket).join(room);
    return;
  }
  let members = wsRooms.get(room);
  if (!members) wsRooms.set(room, (members = new Set()));
  members.add(client as WsClient);
}

export function leave(client: Client, room: string): void {
  if (!isWs) {
    void (client as Socket).leave(room);
    return;
  }
  const members = wsRooms.get(room);
  members?.delete(client as WsClient);
  if (members?.size === 0) wsRooms.delete(room);
}

/** Called from `handleDisconnect`; socket.io does this by itself. */
export function leaveAll(client: Client): void {
  if (!isWs) return;
  for (const room of [...wsRooms.keys()]) leave(client, room);
}

/** `server.to(room).emit(event, data)`: every member, the sender included. */
export function emitToRoom(server: GatewayServer, room: string, event: string, data: unknown): void {
  if (!isWs) {
    (server as Namespace).to(room).emit(event, data);
    return;
  }
  for (const member of wsRooms.get(room) ?? []) emit(member, event, data);
}

/** `client.to(room).emit(event, data)`: every member but the sender. */
export function emitToRoomExceptSender(client: Client, room: string, event: string, data: unknown): void {
  if (!isWs) {
    (client as Socket).to(room).emit(event, data);
    return;
  }
  for (const member of wsRooms.get(room) ?? []) {
    if (member !== client) emit(member, event, data);
  }
}
