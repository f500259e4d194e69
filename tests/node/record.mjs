// Records what the test clients send and receive, for checking against the AsyncAPI documents
// (check_traffic.mjs). Imported for its effect by the flow scripts; does nothing unless
// GATEWAY_RECORD_TRAFFIC names a file, to which it appends one JSON line per message:
//   {"connection":1,"format":"json","address":"/chat","direction":"toServer"|"toClient","frame":…}
//   {"connection":2,"format":"socketio","address":"/chat","direction":"toServer"|"toClient"|"ack","event":…,"args":[…]}
import { appendFileSync } from 'node:fs';
import WebSocket from 'ws';
import { Socket } from 'socket.io-client';

const file = process.env.GATEWAY_RECORD_TRAFFIC;

const connections = new WeakMap();
let nextConnection = 1;

/** Appends `entry`, tagged with the client it is about (`connection`: one number per client). */
function record(client, entry) {
  if (!connections.has(client)) connections.set(client, nextConnection++);
  appendFileSync(file, JSON.stringify({ connection: connections.get(client), ...entry }) + '\n');
}

/** The JSON-format path of a `ws` client, or null for Engine.IO's own connections. */
function jsonPath(ws) {
  const path = new URL(ws.url).pathname;
  return path.startsWith('/socket.io') ? null : path;
}

function parsed(data) {
  try {
    return JSON.parse(data.toString());
  } catch {
    return undefined;
  }
}

if (file) {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data, ...rest) {
    const address = jsonPath(this);
    const frame = typeof data === 'string' ? parsed(data) : undefined;
    if (address && frame !== undefined) record(this, { format: 'json', address, direction: 'toServer', frame });
    return send.call(this, data, ...rest);
  };
  const emit = WebSocket.prototype.emit;
  WebSocket.prototype.emit = function (event, ...args) {
    const address = event === 'message' && !args[1] ? jsonPath(this) : null;
    const frame = address ? parsed(args[0]) : undefined;
    if (address && frame !== undefined) record(this, { format: 'json', address, direction: 'toClient', frame });
    return emit.call(this, event, ...args);
  };

  const socketEmit = Socket.prototype.emit;
  Socket.prototype.emit = function (event, ...args) {
    const address = this.nsp;
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      // With `timeout()` or `emitWithAck`, the first argument is the error (null when the ack came).
      const withError = last.withError === true || this.flags?.timeout !== undefined;
      const wrapped = (...reply) => {
        if (!withError || reply[0] === null || reply[0] === undefined) {
          record(this, { format: 'socketio', address, direction: 'ack', event, args: withError ? reply.slice(1) : reply });
        }
        return last(...reply);
      };
      wrapped.withError = last.withError;
      args[args.length - 1] = wrapped;
    }
    const data = typeof last === 'function' ? args.slice(0, -1) : args;
    record(this, { format: 'socketio', address, direction: 'toServer', event, args: data });
    return socketEmit.call(this, event, ...args);
  };
  const onevent = Socket.prototype.onevent;
  Socket.prototype.onevent = function (packet) {
    const [event, ...args] = packet.data ?? [];
    record(this, { format: 'socketio', address: this.nsp, direction: 'toClient', event, args });
    return onevent.call(this, packet);
  };
}
