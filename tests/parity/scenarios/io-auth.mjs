// Socket.IO: the chat gateway's connection hook against every kind of token, given in the
// CONNECT packet's `auth`, in the query, or in an Authorization header (extraHeaders).
import { ROOM } from '../lib/constants.mjs';

/**
 * Connects to /chat with the options `how(tokens)` gives, then tries `joinRoom` (with an ack):
 * an authenticated socket gets `userJoined` and the ack; a refused one the `error` event and a
 * server disconnect.
 */
const auth = (name, how, extra = {}) => ({
  name: `io auth: ${name}`,
  format: 'io',
  async run(t) {
    const c = t.io('client', '/chat', { ...how(t.tokens), ...extra });
    if ((await c.connected()) !== 'connect') return;
    c.emitAck('joinRoom', ROOM);
    await c.rec.waitNext((l) => l.startsWith('ack ') || l.startsWith('disconnect'), 'ack or disconnect');
    await c.settle();
  },
});

const viaAuth = (token) => ({ auth: { token } });
const viaQuery = (token) => ({ query: { token } });
const viaHeader = (token) => ({ extraHeaders: { Authorization: `Bearer ${token}` } });

const cases = [
  ['no token', () => ({})],
  ['valid token in auth', (k) => viaAuth(k.valid('alice'))],
  ['valid token in the query', (k) => viaQuery(k.valid('alice'))],
  ['valid token in the Authorization header', (k) => viaHeader(k.valid('bob'))],
  ['garbage token in auth', (k) => viaAuth(k.garbage())],
  ['wrong signature', (k) => viaAuth(k.wrongSignature())],
  ['expired an hour ago', (k) => viaAuth(k.expiredBy(3600))],
  ['expired 30 s ago', (k) => viaAuth(k.expiredBy(30))],
  ['nbf an hour ahead', (k) => viaAuth(k.notBeforeIn(3600))],
  ['nbf 30 s ahead', (k) => viaAuth(k.notBeforeIn(30))],
  ['alg none', (k) => viaAuth(k.algNone())],
  ['HS384 with the right secret', (k) => viaAuth(k.hs384())],
  ['HS512 with the right secret', (k) => viaAuth(k.hs512())],
  ['RS256-looking token (HMAC with the secret)', (k) => viaAuth(k.rs256Looking())],
  ['valid HS256 without exp', (k) => viaAuth(k.withoutExp())],
  ['valid HS256 without sub', (k) => viaAuth(k.withoutSub())],
  ['valid HS256 with a numeric sub', (k) => viaAuth(k.numericSub())],
  ['auth token with a "Bearer " prefix', (k) => viaAuth(`Bearer ${k.valid('alice')}`)],
  ['auth token that is not a string', () => ({ auth: { token: 42 } })],
  ['garbage in the query', (k) => viaQuery(k.garbage())],
  ['garbage in the header', (k) => viaHeader(k.garbage())],
  // Precedence: the guide reads the header, then the query; auth.token comes last.
  ['valid header + garbage query', (k) => ({ ...viaHeader(k.valid('bob')), ...viaQuery(k.garbage()) })],
  ['garbage header + valid query', (k) => ({ ...viaHeader(k.garbage()), ...viaQuery(k.valid('alice')) })],
  ['valid header + garbage auth', (k) => ({ ...viaHeader(k.valid('bob')), ...viaAuth(k.garbage()) })],
  ['garbage header + valid auth', (k) => ({ ...viaHeader(k.garbage()), ...viaAuth(k.valid('alice')) })],
  ['valid query + garbage auth', (k) => ({ ...viaQuery(k.valid('alice')), ...viaAuth(k.garbage()) })],
  ['garbage query + valid auth', (k) => ({ ...viaQuery(k.garbage()), ...viaAuth(k.valid('alice')) })],
  ['valid header (bob) + valid auth (alice)', (k) => ({ ...viaHeader(k.valid('bob')), ...viaAuth(k.valid('alice')) })],
  ['valid query (alice) + valid auth (bob)', (k) => ({ ...viaQuery(k.valid('alice')), ...viaAuth(k.valid('bob')) })],
  ['lowercase "bearer" header + valid auth', (k) => ({ extraHeaders: { Authorization: `bearer ${k.garbage()}` }, ...viaAuth(k.valid('alice')) })],
];

export default [
  ...cases.map(([name, how]) => auth(name, how)),
  auth('valid token in auth, websocket only', (k) => viaAuth(k.valid('alice')), { transports: ['websocket'] }),
  auth('valid header, websocket only', (k) => viaHeader(k.valid('bob')), { transports: ['websocket'] }),
  auth('no token, websocket only', () => ({}), { transports: ['websocket'] }),
  auth('garbage header + valid query, websocket only', (k) => ({ ...viaHeader(k.garbage()), ...viaQuery(k.valid('alice')) }), {
    transports: ['websocket'],
  }),
];
