// Client-by-client comparison of two transcripts, and a readable line diff.

/** Longest-common-subsequence alignment: [[kind, line]] with kind ' ' (both), 'nest', 'ours'. */
export function align(nest, ours) {
  const n = nest.length;
  const m = ours.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = nest[i] === ours[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && nest[i] === ours[j]) {
      out.push([' ', nest[i]]);
      i++;
      j++;
    } else if (j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push(['nest', nest[i++]]);
    } else {
      out.push(['ours', ours[j++]]);
    }
  }
  return out;
}

/** True when two lines carry the same JSON value in different text (key order, spacing). */
function sameJson(a, b) {
  const split = (line) => {
    const k = line.search(/[[{"]/);
    return k < 0 ? [line, null] : [line.slice(0, k), line.slice(k)];
  };
  const [pa, ja] = split(a);
  const [pb, jb] = split(b);
  if (pa !== pb || ja === null || jb === null) return false;
  try {
    return JSON.stringify(sortKeys(JSON.parse(ja))) === JSON.stringify(sortKeys(JSON.parse(jb)));
  } catch {
    return false;
  }
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

/** The diff of one client, indented, with `nest:` / `ours:` on the lines that differ. */
export function formatDiff(nest, ours, indent = '    ') {
  const rows = align(nest, ours);
  const out = [];
  let block = { nest: [], ours: [] }; // consecutive differing rows
  const flush = () => {
    const { nest: n, ours: o } = block;
    if (n.length && n.length === o.length && n.every((l, k) => sameJson(l, o[k]))) {
      out.push(`${indent}(same JSON values, different text: key order or spacing)`);
    }
    block = { nest: [], ours: [] };
  };
  for (const [kind, line] of rows) {
    if (kind === ' ') {
      flush();
      out.push(`${indent}      ${line}`);
    } else {
      block[kind].push(line);
      out.push(`${indent}${kind}: ${line}`);
    }
  }
  flush();
  return out;
}
