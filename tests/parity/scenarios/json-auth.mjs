// JSON format: the chat gateway's connection hook (the guide's AuthenticatedGateway) against
// every kind of token, in the query and in the Authorization header.
import { ROOM } from '../lib/constants.mjs';

/**
 * Connects to /chat with what `how(tokens)` gives ({query, headers}), then tries `joinRoom`:
 * an authenticated client gets `userJoined` (showing whose token it was) and `{joined}`; a
 * refused one gets the `error` event and a close, and its `joinRoom` goes nowhere.
 */
const auth = (name, how) => ({
  name: `json auth: ${name}`,
  format: 'json',
  async run(t) {
    const { query = '', headers } = how(t.tokens);
    const c = t.json('client', `/chat${query}`, { headers });
    if ((await c.opened()) !== 'open') return;
    c.emit('joinRoom', ROOM);
    await c.waitRecv('"joined"');
    await c.settle();
    if (!c.isOpen) await c.closed();
  },
});

const q = (token) => ({ query: `?token=${encodeURIComponent(token)}` });
const bearer = (token) => ({ headers: { Authorization: `Bearer ${token}` } });

export default [
  auth('no token', () => ({})),
  auth('valid token in the query', (k) => q(k.valid('alice'))),
  auth('valid token in the Authorization header', (k) => bearer(k.valid('bob'))),
  auth('garbage token', (k) => q(k.garbage())),
  auth('wrong signature', (k) => q(k.wrongSignature())),
  auth('expired an hour ago', (k) => q(k.expiredBy(3600))),
  auth('expired 30 s ago', (k) => q(k.expiredBy(30))),
  auth('nbf an hour ahead', (k) => q(k.notBeforeIn(3600))),
  auth('nbf 30 s ahead', (k) => q(k.notBeforeIn(30))),
  auth('alg none', (k) => q(k.algNone())),
  auth('HS384 with the right secret', (k) => q(k.hs384())),
  auth('HS512 with the right secret', (k) => q(k.hs512())),
  auth('RS256-looking token (HMAC with the secret)', (k) => q(k.rs256Looking())),
  auth('valid HS256 without exp', (k) => q(k.withoutExp())),
  auth('valid HS256 without sub', (k) => q(k.withoutSub())),
  auth('valid HS256 with a numeric sub', (k) => q(k.numericSub())),
  auth('garbage token in the header', (k) => bearer(k.garbage())),
  auth('expired token in the header', (k) => bearer(k.expiredBy(3600))),
  auth('valid header + garbage query', (k) => ({ ...bearer(k.valid('bob')), ...q(k.garbage()) })),
  auth('garbage header + valid query', (k) => ({ ...bearer(k.garbage()), ...q(k.valid('alice')) })),
  auth('lowercase "bearer" header + no query', (k) => ({ headers: { Authorization: `bearer ${k.valid('alice')}` } })),
  auth('lowercase "bearer" header + valid query', (k) => ({
    headers: { Authorization: `bearer ${k.valid('bob')}` },
    ...q(k.valid('alice')),
  })),
  auth('"Basic" header + valid query', (k) => ({ headers: { Authorization: 'Basic YWxpY2U6cHc=' }, ...q(k.valid('alice')) })),
  auth('"Bearer <valid> extra" header', (k) => ({ headers: { Authorization: `Bearer ${k.valid('alice')} extra` } })),
  auth('"Bearer  <valid>" header (two spaces)', (k) => ({ headers: { Authorization: `Bearer  ${k.valid('alice')}` } })),
  auth('"Bearer " header (empty) + valid query', (k) => ({ headers: { Authorization: 'Bearer ' }, ...q(k.valid('alice')) })),
  auth('empty ?token=', () => ({ query: '?token=' })),
  auth('token twice in the query (valid first)', (k) => ({ query: `?token=${k.valid('alice')}&token=garbage` })),
  auth('token twice in the query (garbage first)', (k) => ({ query: `?token=garbage&token=${k.valid('alice')}` })),
  auth('token in another query parameter', (k) => ({ query: `?access_token=${k.valid('alice')}` })),
];
