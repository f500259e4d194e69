// What a scenario gets: client factories bound to one server, tokens, and the transcripts of the
// clients it made (one per client, in creation order).
import { HttpClient } from './http.mjs';
import { IoClient, Manager } from './io-client.mjs';
import { JsonClient } from './json-client.mjs';
import { RawClient } from './raw-client.mjs';
import { tokens } from './tokens.mjs';

export class Context {
  constructor({ httpBase, secret }) {
    this.httpBase = httpBase; // http://127.0.0.1:PORT
    this.wsBase = httpBase.replace(/^http/, 'ws');
    this.secret = secret;
    this.tokens = tokens(secret);
    this.clients = new Map(); // name -> client with .rec
    this.managers = [];
    this.ids = []; // extra strings to mask (e.g. a sid a scenario had to reuse)
  }

  register(client) {
    if (this.clients.has(client.rec.name)) throw new Error(`two clients named ${client.rec.name}`);
    this.clients.set(client.rec.name, client);
    return client;
  }

  /** A platform-ws JSON-format client of `path` (e.g. '/events', '/chat?token=…'). */
  json(name, path, options) {
    return this.register(new JsonClient(name, this.wsBase, path, options));
  }

  /** A socket.io-client socket of namespace `nsp`. */
  io(name, nsp, options) {
    return this.register(new IoClient(name, this.httpBase, nsp, options));
  }

  /** A socket.io-client Manager (one connection) for several `io(…, {manager})` sockets. */
  manager(options = {}) {
    const manager = new Manager(this.httpBase, { reconnection: false, ...options });
    this.managers.push(manager);
    return manager;
  }

  /** A raw Engine.IO WebSocket client. */
  raw(name, options) {
    return this.register(new RawClient(name, this.httpBase, options));
  }

  /** A plain HTTP client. */
  http(name) {
    return this.register(new HttpClient(name, this.httpBase));
  }

  /** name -> visible lines. */
  transcripts() {
    return new Map([...this.clients].map(([name, client]) => [name, client.rec.lines]));
  }

  cleanup() {
    for (const client of this.clients.values()) client.close?.();
    for (const manager of this.managers) manager.engine?.close();
  }
}
