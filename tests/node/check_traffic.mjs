// Checks recorded traffic (record.mjs) against AsyncAPI documents:
//   node check_traffic.mjs TRAFFIC_FILE DOCUMENT...
// Every event a client sent must be a `receive` operation of the channel it went to, every
// event it got a `send` operation (or a WsResponse reply), every ack and JSON-format reply a
// reply of that channel, and each payload must validate against its schema (ajv, draft 7, with
// formats). Prints what was checked and what the documents declare that was never seen;
// exits 1 on the first kind of mismatch, after listing them all.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [trafficFile, ...documentFiles] = process.argv.slice(2);
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

// Channels of every document, by wire format, with an address matcher.
const channels = [];
documentFiles.forEach((file, n) => {
  const document = JSON.parse(readFileSync(file, 'utf8'));
  const id = `doc${n}.json`;
  ajv.addSchema(document, id);
  for (const [key, channel] of Object.entries(document.channels)) {
    if (channel.address === null) continue;
    const pattern = new RegExp('^' + channel.address.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$');
    const servers = channel.servers.map((s) => s.$ref.replace('#/servers/', ''));
    const operations = Object.values(document.operations).filter((op) => op.channel.$ref === `#/channels/${key}`);
    const message = (ref) => ({ key: ref.$ref.split('/').pop(), value: channel.messages[ref.$ref.split('/').pop()] });
    const receives = new Map();
    const sends = new Map();
    const replies = [];
    for (const op of operations) {
      const { key: msgKey, value } = message(op.messages[0]);
      if (op.action === 'receive') {
        const reply = op.reply ? message(op.reply.messages[0]) : null;
        receives.set(value.name, { msgKey, value, reply });
        if (reply) replies.push(reply);
      } else {
        sends.set(value.name, { msgKey, value });
      }
    }
    const schema = (msgKey) => `${id}#/channels/${key}/messages/${msgKey.replace(/~/g, '~0').replace(/\//g, '~1')}/payload`;
    channels.push({ file, key, pattern, servers, receives, sends, replies, schema, seen: new Set() });
  }
});

const problems = [];
let checked = 0;
// Client payloads that break their schema on purpose (the flows test validation): allowed when
// the server's next message to that client is the `exception` event.
const refusals = [];
function validate(channel, msgKey, value, what, entry) {
  const validator = ajv.getSchema(channel.schema(msgKey)) ?? ajv.compile({ $ref: channel.schema(msgKey) });
  if (!validator(value)) {
    if (entry?.direction === 'toServer') {
      refusals.push({ entry, problem: `${what}: ${JSON.stringify(value)} does not match ${channel.key}/${msgKey}: ${ajv.errorsText(validator.errors)}` });
      return false;
    }
    problems.push(`${what}: ${JSON.stringify(value)} does not match ${channel.key}/${msgKey}: ${ajv.errorsText(validator.errors)}`);
    return false;
  }
  checked += 1;
  return true;
}

const lines = readFileSync(trafficFile, 'utf8').split('\n').filter(Boolean);
const entries = lines.map((line) => JSON.parse(line));
for (const entry of entries) {
  const matching = channels.filter((c) => c.pattern.test(entry.address) && c.servers.some((s) => s.startsWith(entry.format === 'json' ? 'json' : 'socketio')));
  if (matching.length === 0) {
    problems.push(`${entry.format} ${entry.address}: no channel describes this address`);
  }
  for (const channel of matching) check(channel, entry);
}

for (const { entry, problem } of refusals) {
  const later = entries.slice(entries.indexOf(entry) + 1);
  const next = later.find((e) => e.connection === entry.connection && e.direction !== 'toServer');
  const refused = next && (next.format === 'json' ? next.frame?.event === 'exception' : next.event === 'exception');
  if (refused) console.log(`refused as expected: ${problem}`);
  else problems.push(`${problem} (and the server did not answer with \`exception\`)`);
}

function check(channel, entry) {
  const where = `${entry.format} ${entry.address}`;
  if (entry.format === 'socketio') {
    const data = entry.args[0];
    if (entry.direction === 'toServer') {
      const op = channel.receives.get(entry.event);
      if (!op) { problems.push(`${where}: the client sent "${entry.event}", which is not a receive operation`); return; }
      channel.seen.add(`receive ${entry.event}`);
      if (op.value.payload !== undefined) validate(channel, op.msgKey, data, `${where} sent "${entry.event}"`, entry);
    } else if (entry.direction === 'toClient') {
      const op = channel.sends.get(entry.event);
      if (!op) { problems.push(`${where}: the client got "${entry.event}", which is not a send operation`); return; }
      channel.seen.add(`send ${entry.event}`);
      validate(channel, op.msgKey, data, `${where} got "${entry.event}"`);
    } else {
      const op = channel.receives.get(entry.event);
      if (!op?.reply || op.reply.value['x-reply'] !== 'ack') { problems.push(`${where}: "${entry.event}" was acked, but the document declares no ack`); return; }
      channel.seen.add(`reply ${entry.event}`);
      validate(channel, op.reply.key, data, `${where} ack of "${entry.event}"`);
    }
    return;
  }
  const frame = entry.frame;
  if (entry.direction === 'toServer') {
    const op = channel.receives.get(frame?.event);
    if (!op) { problems.push(`${where}: the client sent ${JSON.stringify(frame)}, not a receive operation's frame`); return; }
    channel.seen.add(`receive ${frame.event}`);
    if (op.value.payload !== undefined) validate(channel, op.msgKey, frame.data, `${where} sent "${frame.event}"`, entry);
    return;
  }
  // A frame to the client: an emitted event `{event, data}`, or a reply sent back as is.
  const isEvent = frame && typeof frame === 'object' && !Array.isArray(frame) && Object.keys(frame).sort().join() === 'data,event';
  const op = isEvent ? channel.sends.get(frame.event) : undefined;
  if (op) {
    channel.seen.add(`send ${frame.event}`);
    validate(channel, op.msgKey, frame.data, `${where} got "${frame.event}"`);
    return;
  }
  const acks = [...channel.receives.entries()].filter(([, r]) => r.reply?.value['x-reply'] === 'ack');
  const matching = acks.filter(([, r]) => {
    const v = ajv.getSchema(channel.schema(r.reply.key)) ?? ajv.compile({ $ref: channel.schema(r.reply.key) });
    return v(frame);
  });
  if (matching.length === 0) {
    problems.push(`${where}: the client got ${JSON.stringify(frame)}, which is neither a send operation's event nor any reply of the channel`);
    return;
  }
  checked += 1;
  for (const [event] of matching) channel.seen.add(`reply ${event}`);
}

for (const channel of channels) {
  const declared = [
    ...[...channel.receives.keys()].map((e) => `receive ${e}`),
    ...[...channel.sends.keys()].map((e) => `send ${e}`),
    ...[...channel.receives.entries()].filter(([, r]) => r.reply?.value['x-reply'] === 'ack').map(([e]) => `reply ${e}`),
  ];
  const unseen = declared.filter((d) => !channel.seen.has(d));
  console.log(`${channel.file} ${channel.key}: ${channel.seen.size} of ${declared.length} declared messages seen${unseen.length ? `; never seen: ${unseen.join(', ')}` : ''}`);
}
for (const problem of problems) console.log(`MISMATCH ${problem}`);
console.log(`${entries.length} recorded messages, ${refusals.length} refused on purpose, ${checked} payloads validated, ${problems.length} mismatches`);
if (problems.length === 0) console.log('traffic matches the documents');
process.exit(problems.length === 0 ? 0 : 1);
