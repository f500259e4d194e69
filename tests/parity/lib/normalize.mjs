// What may legitimately differ between two servers, masked before comparing: ids the servers
// pick (socket ids, Engine.IO sids, recovery pids/offsets), wall-clock timestamps, and JWTs
// (minted separately for each side).
const MASKS = [
  [/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, '<token>'],
  [/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<ts>'],
  [/"(sid|pid|offset)":"[^"]*"/g, '"$1":"<id>"'],
  [/\b(sid|pid|offset)=[A-Za-z0-9_-]+/g, '$1=<id>'],
];

export function normalizeLine(line, extraIds = []) {
  let out = line;
  for (const id of extraIds) if (id) out = out.split(id).join('<id>');
  for (const [pattern, replacement] of MASKS) out = out.replace(pattern, replacement);
  return out;
}

export function normalize(lines, extraIds = []) {
  return lines.map((line) => normalizeLine(line, extraIds));
}
