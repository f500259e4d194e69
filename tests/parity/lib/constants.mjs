// Values the scenarios share.

/** A room id that passes `@IsUUID()`. */
export const ROOM = '6f1c2a2e-3b4d-4c5e-8f90-1a2b3c4d5e6f';

/** `{"event":"message","data":{"text":"xxx…"}}` of exactly `bytes` bytes. */
export function messageFrameOfSize(bytes) {
  const overhead = JSON.stringify({ event: 'message', data: { text: '' } }).length;
  return JSON.stringify({ event: 'message', data: { text: 'x'.repeat(bytes - overhead) } });
}

/** `42/events,["message",{"text":"xxx…"}]` of exactly `bytes` bytes. */
export function ioMessagePacketOfSize(bytes) {
  const overhead = `42/events,${JSON.stringify(['message', { text: '' }])}`.length;
  return `42/events,${JSON.stringify(['message', { text: 'x'.repeat(bytes - overhead) }])}`;
}
