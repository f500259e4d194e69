// sendMessage bodies for the SendMessageDto checks, shared by the JSON and Socket.IO scenarios.
// `absent` means no body at all ({"event":"sendMessage"}, or emit('sendMessage') with only an ack).
import { ROOM } from './constants.mjs';

export const ABSENT = Symbol('absent');

export const SEND_MESSAGE_BODIES = [
  ['valid', { roomId: ROOM, message: 'hello' }],
  ['valid, with an extra field', { roomId: ROOM, message: 'hello', extra: true }],
  ['bad uuid', { roomId: 'general', message: 'hello' }],
  ['uppercase uuid', { roomId: ROOM.toUpperCase(), message: 'hello' }],
  ['uuid without dashes', { roomId: ROOM.replaceAll('-', ''), message: 'hello' }],
  ['nil uuid', { roomId: '00000000-0000-0000-0000-000000000000', message: 'hello' }],
  ['uuid v7', { roomId: '01890a5d-ac96-774b-bcce-b302099a8057', message: 'hello' }],
  ['uuid in braces', { roomId: `{${ROOM}}`, message: 'hello' }],
  ['empty message', { roomId: ROOM, message: '' }],
  ['whitespace message', { roomId: ROOM, message: '   ' }],
  ['1000-char message', { roomId: ROOM, message: 'x'.repeat(1000) }],
  ['1001-char message', { roomId: ROOM, message: 'x'.repeat(1001) }],
  ['1000 emoji', { roomId: ROOM, message: '\u{1F600}'.repeat(1000) }],
  ['1001 emoji', { roomId: ROOM, message: '\u{1F600}'.repeat(1001) }],
  ['bad uuid and empty message', { roomId: 'general', message: '' }],
  ['message: 42', { roomId: ROOM, message: 42 }],
  ['message: true', { roomId: ROOM, message: true }],
  ['message: null', { roomId: ROOM, message: null }],
  ['message: nested object', { roomId: ROOM, message: { text: 'hello' } }],
  ['message: array', { roomId: ROOM, message: ['hello'] }],
  ['roomId: 42', { roomId: 42, message: 'hello' }],
  ['roomId: nested object', { roomId: { id: ROOM }, message: 'hello' }],
  ['roomId: 42 and message: 42', { roomId: 42, message: 42 }],
  ['missing message', { roomId: ROOM }],
  ['missing roomId', { message: 'hello' }],
  ['missing both ({})', {}],
  ['body is a string', 'hello'],
  ['body is a number', 42],
  ['body is true', true],
  ['body is null', null],
  ['body is an array', [ROOM, 'hello']],
  ['body is absent', ABSENT],
];
