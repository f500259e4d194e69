// The chat example's browser demo. It signs in at the example's demo-only token endpoint
// (POST /demo/token, the name as the body, the token as the answer), then talks to the chat
// gateway at /chat over the browser's WebSocket, in NestJS's JSON format: every frame it sends
// is {"event": name, "data": value}.
//
// What the gateway sends back:
// - a reply to each request, as the bare value the handler returned: {"joined": roomId},
//   {"left": roomId}, {"sent": true};
// - or, instead of the reply, an `exception` event: class-validator's errors (an array) when a
//   body fails validation, else {status, message};
// - events for the room: userJoined, userLeft, newMessage {userId, message, timestamp};
// - `error` {message} then a close, when the token is refused.
'use strict';

const byId = (id) => document.getElementById(id);

let socket = null; // the open connection, if signed in
let userName = null; // who we signed in as
let joinedRoom = null; // the room sendMessage goes to
// The requests waiting for their answer, oldest first. The gateway handles one socket's
// messages in order and answers each with one reply or one `exception`, so an answer is always
// for the oldest request still waiting.
const waiting = [];

/** Adds a line to the log. Text only, never HTML: names and messages come from other people. */
function log(kind, text) {
  const item = document.createElement('li');
  item.className = kind;
  item.textContent = text;
  byId('log').append(item);
  item.scrollIntoView({ block: 'nearest' });
}

function setStatus(text) {
  byId('status').textContent = text;
}

/** Sends `{event, data}`; `onReply` gets the reply, unless an `exception` comes instead. */
function request(event, data, onReply) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    log('error', 'Not connected: sign in first.');
    return;
  }
  socket.send(JSON.stringify({ event, data }));
  waiting.push({ event, onReply });
}

/** The constraint messages of class-validator's errors, nested ones included. */
function constraintMessages(error) {
  if (!error || typeof error !== 'object') return [];
  const own = Object.values(error.constraints || {});
  const nested = Array.isArray(error.children) ? error.children.flatMap(constraintMessages) : [];
  return [...own, ...nested];
}

/** An `exception` event's data as one line of text. */
function describeException(data) {
  if (Array.isArray(data)) {
    const messages = data.flatMap(constraintMessages);
    if (messages.length > 0) return messages.join('; ');
  }
  if (data && typeof data.message === 'string') return data.message;
  return JSON.stringify(data);
}

function handleEvent(event, data) {
  const who = data && data.userId !== undefined ? String(data.userId) : 'someone';
  switch (event) {
    case 'newMessage':
      log('message', `${who}: ${data.message}`);
      break;
    case 'userJoined':
      log('notice', `${who} joined the room`);
      break;
    case 'userLeft':
      log('notice', `${who} left the room`);
      break;
    case 'exception': {
      const failed = waiting.shift();
      const what = failed ? failed.event : 'request';
      log('error', `${what} refused: ${describeException(data)}`);
      break;
    }
    case 'error':
      log('error', data && typeof data.message === 'string' ? data.message : JSON.stringify(data));
      break;
    default:
      log('notice', `${event}: ${JSON.stringify(data)}`);
  }
}

function handleFrame(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    log('error', `Not JSON from the server: ${text}`);
    return;
  }
  if (frame && typeof frame === 'object' && typeof frame.event === 'string') {
    handleEvent(frame.event, frame.data);
    return;
  }
  const answered = waiting.shift();
  if (answered) answered.onReply(frame);
}

function connect(name, token) {
  if (socket) socket.close(1000);
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/chat?token=${encodeURIComponent(token)}`);
  socket = ws;
  userName = name;
  joinedRoom = null;
  waiting.length = 0;
  byId('current-room').textContent = '(none joined)';
  setStatus(`Connecting as ${name}…`);
  ws.addEventListener('open', () => {
    setStatus(`Signed in as ${name}`);
    byId('chat').disabled = false;
  });
  ws.addEventListener('message', (message) => handleFrame(message.data));
  ws.addEventListener('close', (close) => {
    // A socket replaced by a new sign-in closes too; only the current one changes the page.
    if (socket !== ws) return;
    socket = null;
    byId('chat').disabled = true;
    setStatus(`Disconnected (close code ${close.code}). Sign in again.`);
  });
}

async function signIn(name) {
  let response;
  try {
    response = await fetch('/demo/token', { method: 'POST', body: name });
  } catch (err) {
    log('error', `Sign-in failed: ${err.message}`);
    return;
  }
  const text = await response.text();
  if (!response.ok) {
    log('error', `Sign-in refused: ${text}`);
    return;
  }
  connect(name.trim(), text);
}

function joinRoom(roomId) {
  if (joinedRoom !== null && joinedRoom !== roomId) {
    const left = joinedRoom;
    request('leaveRoom', left, () => log('notice', `You left ${left}`));
  }
  request('joinRoom', roomId, (reply) => {
    joinedRoom = reply && typeof reply.joined === 'string' ? reply.joined : roomId;
    byId('current-room').textContent = joinedRoom;
  });
}

function sendMessage(text) {
  if (joinedRoom === null) {
    log('error', 'Join a room first.');
    return;
  }
  // No check here that the text is not empty: the gateway validates it, and says so.
  request('sendMessage', { roomId: joinedRoom, message: text }, () => {
    log('message mine', `${userName}: ${text}`);
  });
}

byId('sign-in').addEventListener('submit', (event) => {
  event.preventDefault();
  signIn(byId('name').value);
});
byId('join').addEventListener('submit', (event) => {
  event.preventDefault();
  joinRoom(byId('room').value.trim());
});
byId('send').addEventListener('submit', (event) => {
  event.preventDefault();
  sendMessage(byId('message').value);
  byId('message').value = '';
});
