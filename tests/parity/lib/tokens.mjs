// JWTs for the chat gateway, minted when a scenario asks (so time-relative claims such as
// "expired 30 s ago" are relative to the moment they are used, on each server alike).
import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';

const now = () => Math.floor(Date.now() / 1000);
const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token with the given header and claims, signed (HMAC-SHA256) with `secret`, whatever the header says. */
function handMade(header, claims, secret) {
  const signingInput = `${b64url(header)}.${b64url(claims)}`;
  const signature = secret === null ? '' : createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

export function tokens(secret) {
  const sign = (claims, options = {}) => jwt.sign(claims, secret, { algorithm: 'HS256', ...options });
  return {
    /** HS256, one hour: what `mint_token` prints. */
    valid: (sub = 'alice', role) => sign({ sub, ...(role ? { role } : {}), exp: now() + 3600 }),
    wrongSignature: () => jwt.sign({ sub: 'alice', exp: now() + 3600 }, `${secret}-but-not-quite`),
    expiredBy: (seconds) => sign({ sub: 'alice', exp: now() - seconds }),
    notBeforeIn: (seconds) => sign({ sub: 'alice', exp: now() + 3600, nbf: now() + seconds }),
    algNone: () => handMade({ alg: 'none', typ: 'JWT' }, { sub: 'alice', exp: now() + 3600 }, null),
    hs384: () => sign({ sub: 'alice', exp: now() + 3600 }, { algorithm: 'HS384' }),
    hs512: () => sign({ sub: 'alice', exp: now() + 3600 }, { algorithm: 'HS512' }),
    /** Claims RS256 but is an HMAC with the secret: the algorithm-confusion shape. */
    rs256Looking: () => handMade({ alg: 'RS256', typ: 'JWT' }, { sub: 'alice', exp: now() + 3600 }, secret),
    withoutExp: () => sign({ sub: 'alice' }),
    withoutSub: () => sign({ role: 'admin', exp: now() + 3600 }),
    numericSub: () => sign({ sub: 42, exp: now() + 3600 }),
    garbage: () => 'not-a-jwt',
  };
}
