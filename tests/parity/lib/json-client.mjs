// A NestJS platform-ws client (npm `ws`) that records what it sees:
//   open | recv <text> | recv-binary <hex> | close <code> <reason> | error <message> | http <status> <body>
import WebSocket from 'ws';
import { Recorder, recordEnd, sentinelTag } from './recorder.mjs';

// The frame whose answer echoes `tag`, per gateway path: on /events `boom` echoes its body in
// the exception's `cause`, on /chat `joinRoom` echoes the room id (in `userJoined` and `{joined}`).
const SENTINELS = {
  '/events': (tag) => JSON.stringify({ event: 'boom', data: tag }),
  '/chat': (tag) => JSON.stringify({ event: 'joinRoom', data: tag }),
};

export class JsonClient {
  constructor(name, base, path, { headers, onOpen } = {}) {
    this.rec = new Recorder(name);
    this.path = path.split('?')[0];
    this.done = false; // set once the handshake failed with an HTTP answer: nothing follows
    const ws = (this.ws = new WebSocket(base + path, { headers }));
    ws.on('open', () => {
      this.rec.push('open');
      onOpen?.(this);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.rec.push(`recv-binary ${Buffer.from(data).toString('hex')}`);
        return;
      }
      const text = data.toString();
      this.rec.push(`recv ${text}`, { hidden: text.includes('sentinel-') });
    });
    recordEnd(this, ws);
  }

  /** Waits for the handshake's outcome: open, close, or an HTTP answer. */
  opened() {
    return this.rec.waitFor((l) => /^(open|close|http|error)\b/.test(l), 'open', { since: 0 });
  }

  /** Waits for the connection to end (a close frame or the HTTP answer). */
  closed() {
    return this.rec.waitFor((l) => /^(close|http)\b/.test(l), 'close', { since: 0 });
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends an object as JSON, a string as a text frame, a Buffer as a binary frame. */
  send(frame) {
    if (!this.isOpen) return;
    if (Buffer.isBuffer(frame)) this.ws.send(frame, { binary: true });
    else this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends `{event, data}` (without `data` when it is undefined). */
  emit(event, data) {
    this.send(data === undefined ? { event } : { event, data });
  }

  /** Waits for the next `recv` line containing `text` (or the end of the connection). */
  waitRecv(text) {
    return this.rec.waitNext((l) => (l.startsWith('recv ') && l.includes(text)) || /^(close|http)\b/.test(l), `recv ${text}`);
  }

  /**
   * Returns once the server has handled everything sent before (or the connection ended).
   * Two rounds of a sentinel: NestJS handles the frames of one TCP read concurrently, so its
   * answer to a frame may come after the first sentinel's answer; it cannot come after the
   * answer to a sentinel sent once the first one was answered. Sentinel lines are hidden.
   */
  async settle() {
    const sentinel = SENTINELS[this.path];
    for (let round = 0; round < 2; round++) {
      if (this.done || !this.isOpen || !sentinel) return this.done ? undefined : this.closedIfClosing();
      const tag = sentinelTag();
      const since = this.rec.entries.length;
      this.ws.send(sentinel(tag));
      await this.rec.waitFor((l) => l.includes(tag) || /^(close|http)\b/.test(l), `sentinel on ${this.path}`, { since });
    }
    this.rec.skipToEnd();
  }

  closedIfClosing() {
    return this.ws.readyState === WebSocket.CLOSING ? this.closed() : undefined;
  }

  close() {
    this.done = true;
    this.ws.terminate();
  }
}
