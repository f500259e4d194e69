// Raw Engine.IO v4 / Socket.IO v5 packets over a WebSocket (npm `ws`), recording:
//   open | frame <text> | binary <hex> | close <code> <reason> | error <message> | http <status> <body>
// Server pings (`2`) are answered with `3` and not recorded: their timing is the server's.
import WebSocket from 'ws';
import { Recorder, recordEnd } from './recorder.mjs';

let ackId = 9000; // sentinel ack ids; scenarios use small ones

export class RawClient {
  /** `query` is appended to `/socket.io/?`; by default a WebSocket-only Engine.IO 4 session. */
  constructor(name, httpBase, { query = 'EIO=4&transport=websocket', headers } = {}) {
    this.rec = new Recorder(name);
    this.done = false;
    this.sentinelPattern = null;
    const url = `${httpBase.replace(/^http/, 'ws')}/socket.io/?${query}`;
    const ws = (this.ws = new WebSocket(url, { headers }));
    ws.on('open', () => this.rec.push('open'));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.rec.push(`binary ${Buffer.from(data).toString('hex')}`);
        return;
      }
      const text = data.toString();
      if (text === '2') {
        ws.send('3');
        return;
      }
      this.rec.push(`frame ${text}`, { hidden: /^43\/[^,]*,9\d{3}\[/.test(text) });
    });
    recordEnd(this, ws);
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame) {
    if (!this.isOpen) return;
    if (Buffer.isBuffer(frame)) this.ws.send(frame, { binary: true });
    else this.ws.send(frame);
  }

  /** Waits for the next frame starting with `prefix` (or the end of the connection). */
  waitFrame(prefix) {
    return this.rec.waitNext((l) => l.startsWith(`frame ${prefix}`) || /^(close|http)\b/.test(l), `frame ${prefix}`);
  }

  /**
   * The Engine.IO open packet, then CONNECT to each namespace, waiting for each answer. A
   * namespace is '/events', or ['/chat', {token}] to send an auth payload.
   */
  async handshake(...namespaces) {
    await this.waitFrame('0');
    for (const entry of namespaces) {
      const [nsp, auth] = Array.isArray(entry) ? entry : [entry];
      const since = this.rec.entries.length;
      const payload = auth ? JSON.stringify(auth) : '';
      this.send(nsp === '/' ? `40${payload}` : `40${nsp},${payload}`);
      await this.rec.waitFor((l) => /^frame 4[04]/.test(l) || /^(close|http)\b/.test(l), `CONNECT ${nsp}`, { since });
    }
    this.rec.skipToEnd();
  }

  closed() {
    return this.rec.waitFor((l) => /^(close|http)\b/.test(l), 'close', { since: 0 });
  }

  /**
   * Two rounds of a sentinel acked by the server (see JsonClient.settle), or the end of the
   * connection. By default `42/events,<id>["ping"]`, answered `43/events,<id>["pong"]`; `nsp`
   * and `args` choose another namespace and event (it must be joined and have a handler).
   */
  async settle({ nsp = '/events', args = ['ping'] } = {}) {
    for (let round = 0; round < 2; round++) {
      if (this.done || !this.isOpen) return this.ws.readyState === WebSocket.CLOSING ? this.closed() : undefined;
      ackId += 1;
      const since = this.rec.entries.length;
      this.send(`42${nsp},${ackId}${JSON.stringify(args)}`);
      const answer = `frame 43${nsp},${ackId}[`;
      await this.rec.waitFor((l) => l.startsWith(answer) || /^(close|http)\b/.test(l), `sentinel on ${nsp}`, { since });
    }
    this.rec.skipToEnd();
  }

  close() {
    this.done = true;
    this.ws.terminate();
  }
}
