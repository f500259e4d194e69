// One client's transcript: the lines it saw, in the order it saw them.
//
// Scenarios never sleep: they wait for the line they expect (`waitFor`), with a generous
// timeout. A timeout is itself recorded as a line, so it shows up in the comparison instead of
// hanging the run. Lines produced by sentinels (see `settle` in the clients) are kept but
// hidden: they only tell the scenario that the server is done with everything sent before.

/** How long any single wait may take before it is recorded as a timeout. */
export const TIMEOUT_MS = 10_000;

export class Recorder {
  constructor(name) {
    this.name = name;
    this.entries = []; // { line, hidden }
    this.waiters = new Set();
    this.cursor = 0; // lines before it were consumed by waitNext or settled
  }

  push(line, { hidden = false } = {}) {
    this.entries.push({ line, hidden });
    for (const waiter of [...this.waiters]) waiter.check();
  }

  /** The visible lines, for the comparison. */
  get lines() {
    return this.entries.filter((e) => !e.hidden).map((e) => e.line);
  }

  /**
   * Resolves with the first line matching `pred` at index `since` or later (default: lines that
   * arrive after this call), or with null after `timeout` ms, recording `timeout <what>`.
   */
  waitFor(pred, what, { since = this.entries.length, timeout = TIMEOUT_MS } = {}) {
    return this.waitIndex(pred, what, since, timeout).then((i) => (i < 0 ? null : this.entries[i].line));
  }

  /**
   * Like waitFor, from the cursor on, and moves the cursor past the line found: successive
   * calls consume lines in order, whether they arrived before the call or after.
   */
  async waitNext(pred, what) {
    const i = await this.waitIndex(pred, what, this.cursor, TIMEOUT_MS);
    if (i < 0) return null;
    this.cursor = i + 1;
    return this.entries[i].line;
  }

  /** Marks every line so far as consumed (after a settle). */
  skipToEnd() {
    this.cursor = this.entries.length;
  }

  waitIndex(pred, what, since, timeout) {
    return new Promise((resolve) => {
      const waiter = {
        check: () => {
          for (let i = since; i < this.entries.length; i++) {
            if (pred(this.entries[i].line)) {
              this.waiters.delete(waiter);
              clearTimeout(timer);
              resolve(i);
              return;
            }
          }
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        this.push(`timeout ${what}`);
        resolve(-1);
      }, timeout);
      this.waiters.add(waiter);
      waiter.check();
    });
  }
}

let sentinelCount = 0;
/** A tag no real payload contains, echoed back by the server in the sentinel's answer. */
export function sentinelTag() {
  sentinelCount += 1;
  return `sentinel-${sentinelCount}`;
}

/**
 * Records how a `ws` connection of `client` ends: `close <code> <reason>`, `error <message>`, or
 * `http <status> <body>` for a refused upgrade; `client.done` is set once it has ended.
 */
export function recordEnd(client, ws) {
  ws.on('close', (code, reason) => {
    if (!client.done) client.rec.push(`close ${code} ${reason.toString()}`.trimEnd());
    client.done = true;
  });
  ws.on('error', (err) => {
    if (!client.done) client.rec.push(`error ${err.message}`);
  });
  ws.on('unexpected-response', (req, res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      client.rec.push(`http ${res.statusCode} ${Buffer.concat(chunks).toString()}`.trimEnd());
      client.done = true;
      req.destroy();
    });
  });
}
