// JSON format: sendMessage through ValidationPipe + the guide's SendMessageDto.
import { ABSENT, SEND_MESSAGE_BODIES } from '../lib/send-message-bodies.mjs';

export default SEND_MESSAGE_BODIES.map(([name, body]) => ({
  name: `json validation: sendMessage ${name}`,
  format: 'json',
  async run(t) {
    const c = t.json('client', `/chat?token=${t.tokens.valid('alice')}`);
    await c.opened();
    c.emit('sendMessage', body === ABSENT ? undefined : body);
    await c.settle();
  },
}));
