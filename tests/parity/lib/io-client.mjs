// A socket.io-client 4.8 socket that records what it sees:
//   connect | connect_error <json> | event <name> <json args> | ack <json args> | disconnect <reason>
import { io, Manager } from 'socket.io-client';
import { Recorder, sentinelTag } from './recorder.mjs';

const json = (value) => (value === undefined ? 'undefined' : JSON.stringify(value));

// The ack'd emit whose answer tells that a namespace's server side is done with what came
// before: `ping` on /events (acked 'pong'), `joinRoom` on /chat (acked, and echoed in `userJoined`).
const SENTINELS = {
  '/events': () => ['ping'],
  '/chat': (tag) => ['joinRoom', tag],
};

export class IoClient {
  /**
   * `manager` multiplexes several namespaces on one connection; without it each client has its
   * own. Reconnection is off: a refused or dropped client stays down, as the transcript shows.
   */
  constructor(name, base, nsp, { manager, onConnect, ...options } = {}) {
    this.rec = new Recorder(name);
    this.nsp = nsp;
    const socket = (this.socket = manager
      ? manager.socket(nsp, options)
      : io(base + nsp, { forceNew: true, reconnection: false, ...options }));
    socket.on('connect', () => {
      this.rec.push('connect');
      onConnect?.(this);
    });
    socket.on('connect_error', (err) => {
      // A transport error carries what went wrong below Socket.IO (an HTTP status, a socket error).
      const d = err.description;
      const description = d === undefined ? undefined : typeof d === 'object' ? (d.message ?? d.code ?? String(d)) : d;
      this.rec.push(`connect_error ${json({ message: err.message, data: err.data, description })}`);
    });
    socket.on('disconnect', (reason) => this.rec.push(`disconnect ${reason}`));
    socket.onAny((event, ...args) => {
      const line = `event ${event} ${json(args)}`;
      this.rec.push(line, { hidden: line.includes('sentinel-') });
    });
  }

  /** Waits for `connect` or `connect_error`. */
  connected() {
    return this.rec.waitFor((l) => /^(connect|connect_error|disconnect)\b/.test(l), 'connect', { since: 0 });
  }

  disconnected() {
    return this.rec.waitFor((l) => l.startsWith('disconnect'), 'disconnect', { since: 0 });
  }

  /** Emits without an ack. */
  emit(event, ...args) {
    this.socket.emit(event, ...args);
  }

  /**
   * Emits with an ack callback that records `ack <json args>`. Not awaited: NestJS never acks
   * some events (a handler that returns `{event, data}`, or one that throws), so the scenario
   * settles instead.
   */
  emitAck(event, ...args) {
    this.socket.emit(event, ...args, (...reply) => this.rec.push(`ack ${json(reply)}`));
  }

  /** Waits for the next `event <name>` line (or a disconnect). */
  waitEvent(name) {
    return this.rec.waitNext((l) => l.startsWith(`event ${name} `) || l.startsWith('disconnect'), `event ${name}`);
  }

  /**
   * Returns once the server has handled everything this socket sent before (or it was
   * disconnected): two rounds of an ack'd sentinel (see JsonClient.settle for why two). A
   * socket on a namespace without handlers settles through `via`, a socket of the same manager.
   */
  async settle(via = this) {
    const sentinel = SENTINELS[via.nsp];
    for (let round = 0; round < 2; round++) {
      if (!this.socket.connected || !via.socket.connected || !sentinel) return;
      const tag = sentinelTag();
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          this.rec.push(`timeout sentinel on ${via.nsp}`);
          resolve();
        }, 10_000);
        const finish = () => {
          clearTimeout(timer);
          this.socket.off('disconnect', finish);
          resolve();
        };
        this.socket.once('disconnect', finish);
        via.socket.emit(...sentinel(tag), finish);
      });
    }
    this.rec.skipToEnd();
  }

  close() {
    this.socket.disconnect();
    this.socket.io.engine?.close();
  }
}

export { Manager };
