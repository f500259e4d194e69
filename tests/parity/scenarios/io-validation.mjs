// Socket.IO: sendMessage through ValidationPipe + the guide's SendMessageDto, with an ack.
import { ABSENT, SEND_MESSAGE_BODIES } from '../lib/send-message-bodies.mjs';

export default SEND_MESSAGE_BODIES.map(([name, body]) => ({
  name: `io validation: sendMessage ${name}`,
  format: 'io',
  async run(t) {
    const c = t.io('client', '/chat', { auth: { token: t.tokens.valid('alice') } });
    if ((await c.connected()) !== 'connect') return;
    if (body === ABSENT) c.emitAck('sendMessage');
    else c.emitAck('sendMessage', body);
    await c.settle();
  },
}));
