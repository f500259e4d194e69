// Declared deviations shared by several scenario files. Each is listed, with its reason, in the
// docs' "Differences from NestJS" (docs/differences-from-nestjs.md).

const TYPED_BODY_REASON =
  "a body that does not fit the handler's Rust type gets NestJS's 'Internal server error' (NestJS hands any JSON to the handler)";

const internalError = (event, data) =>
  JSON.stringify({
    status: 'error',
    message: 'Internal server error',
    cause: data === undefined ? { pattern: event } : { pattern: event, data },
  });

/**
 * JSON format: `event` with `data` (undefined: no data) refused as ill-typed, by a client that
 * sent nothing else; `nest` is what NestJS sends it after `open`.
 */
export const typedBodyJson = (event, data, nest) => ({
  reason: TYPED_BODY_REASON,
  nest: ['open', ...nest],
  ours: ['open', `recv {"event":"exception","data":${internalError(event, data)}}`],
});

/** Socket.IO: the same, as socket.io-client records it. */
export const typedBodyIo = (event, data, nest) => ({
  reason: TYPED_BODY_REASON,
  nest: ['connect', ...nest],
  ours: ['connect', `event exception [${internalError(event, data)}]`],
});
