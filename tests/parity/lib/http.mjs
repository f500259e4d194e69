// Plain HTTP requests (Engine.IO long-polling, handshake errors), recorded as
//   http <status> <body>   and   header <name>: <value>   for the headers asked for.
// node:http with a fresh connection per request, so no keep-alive pool is shared between them.
import http from 'node:http';
import { Recorder, TIMEOUT_MS } from './recorder.mjs';

export function httpRequest(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve) => {
    const req = http.request(url, { method, headers, agent: false, timeout: TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, error: err.code ?? err.message, headers: {}, body: '' }));
    req.end(body);
  });
}

export class HttpClient {
  constructor(name, base) {
    this.rec = new Recorder(name);
    this.base = base;
  }

  /** Sends one request and records its answer; `show` lists the response headers to record. */
  async request(path, { show = [], ...options } = {}) {
    const res = await httpRequest(this.base + path, options);
    if (res.error) this.rec.push(`error ${res.error}`);
    else this.rec.push(`http ${res.status} ${res.body}`.trimEnd());
    for (const name of show) this.rec.push(`header ${name}: ${res.headers[name] ?? '<absent>'}`);
    return res;
  }
}
