#!/usr/bin/env node
// Differential parity runner: every scenario against the NestJS twin and against ours, compared
// client by client after normalization.
//
//   node tests/parity/compare.mjs --ours http://127.0.0.1:PORT --secret SECRET
//        [--only SUBSTRING] [--record DIR] [--repeat N] [--list]
//
// --repeat N runs every scenario N times on each side and reports the scenarios whose
// transcripts vary from run to run on one side (nondeterminism), besides comparing the first runs.
//
// JSON-format scenarios run against NestJS on @nestjs/platform-ws, Socket.IO / Engine.IO ones
// against NestJS on @nestjs/platform-socket.io; both NestJS apps are started here (PORT=0) and
// stopped at the end. Exit status 0 only when every scenario is identical, or differs exactly
// as its declared deviation says.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Context } from './lib/context.mjs';
import { formatDiff } from './lib/diff.mjs';
import { startNest } from './lib/nest.mjs';
import { normalize } from './lib/normalize.mjs';

const SCENARIO_TIMEOUT_MS = 60_000;

function parseArgs(argv) {
  const args = { only: null, record: null, list: false, repeat: '1' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--list') args.list = true;
    else if (['--ours', '--secret', '--only', '--record', '--repeat'].includes(arg)) args[arg.slice(2)] = argv[++i];
    else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

async function loadScenarios() {
  const dir = fileURLToPath(new URL('./scenarios/', import.meta.url));
  const all = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort()) {
    const module = await import(pathToFileURL(dir + file).href);
    all.push(...module.default);
  }
  const names = new Set();
  for (const s of all) {
    if (names.has(s.name)) throw new Error(`duplicate scenario name: ${s.name}`);
    names.add(s.name);
    if (!['json', 'io'].includes(s.format)) throw new Error(`${s.name}: format must be json or io`);
  }
  return all;
}

/** Runs one scenario against one server; returns name -> normalized lines. */
async function runOn(scenario, httpBase, secret) {
  const t = new Context({ httpBase, secret });
  let failure = null;
  let timer;
  try {
    await Promise.race([
      scenario.run(t),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario took over ${SCENARIO_TIMEOUT_MS} ms`)), SCENARIO_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    failure = err;
  } finally {
    clearTimeout(timer);
  }
  // Read before cleanup, so that closing the clients leaves no trace in the transcripts.
  const transcripts = new Map([...t.transcripts()].map(([name, lines]) => [name, normalize(lines, t.ids)]));
  t.cleanup();
  if (failure) transcripts.set('(runner)', [`exception ${failure.stack ?? failure}`]);
  return transcripts;
}

const same = (a, b) => a.length === b.length && a.every((line, k) => line === b[k]);

/** The clients whose transcripts differ: [{ name, nest, ours }]. */
function differences(nest, ours) {
  const names = [...new Set([...nest.keys(), ...ours.keys()])];
  return names
    .map((name) => ({ name, nest: nest.get(name) ?? ['(no such client)'], ours: ours.get(name) ?? ['(no such client)'] }))
    .filter((d) => !same(d.nest, d.ours));
}

/** The declared deviations that account for every difference, or null. */
function acceptedDeviations(scenario, diffs) {
  const declared = [scenario.deviation ?? []].flat();
  const used = [];
  for (const d of diffs) {
    const dev = declared.find(
      (dev) => (!dev.client || dev.client === d.name) && same(dev.nest, d.nest) && same(dev.ours, d.ours),
    );
    if (!dev) return null;
    used.push(dev);
  }
  return used;
}

function transcriptText(transcripts) {
  return [...transcripts].map(([name, lines]) => [`## ${name}`, ...lines, ''].join('\n')).join('\n');
}

const slug = (name) => name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let scenarios = await loadScenarios();
  if (args.only) scenarios = scenarios.filter((s) => s.name.includes(args.only));
  if (args.list) {
    for (const s of scenarios) console.log(`${s.format}\t${s.name}`);
    return 0;
  }
  if (!args.ours || !args.secret) {
    console.error(
      'usage: node compare.mjs --ours http://127.0.0.1:PORT --secret SECRET [--only TEXT] [--record DIR] [--repeat N] [--list]',
    );
    return 2;
  }
  const ours = args.ours.replace(/\/+$/, '').replace(/^ws/, 'http');
  if (args.record) mkdirSync(args.record, { recursive: true });

  const nests = {};
  for (const [format, adapter] of [['json', 'ws'], ['io', 'io']]) {
    if (scenarios.some((s) => s.format === format)) nests[format] = startNest(adapter, args.secret);
  }
  let identical = 0;
  let deviations = 0;
  try {
    const bases = {};
    for (const [format, nest] of Object.entries(nests)) bases[format] = `http://127.0.0.1:${await nest.ready}`;

    const repeat = Math.max(1, Number(args.repeat) || 1);
    for (const scenario of scenarios) {
      const nestT = await runOn(scenario, bases[scenario.format], args.secret);
      const oursT = await runOn(scenario, ours, args.secret);
      for (let k = 1; k < repeat; k++) {
        for (const [side, base, first] of [['nest', bases[scenario.format], nestT], ['ours', ours, oursT]]) {
          const again = await runOn(scenario, base, args.secret);
          for (const d of differences(first, again)) {
            console.log(`unstable on ${side} - ${scenario.name} (run ${k + 1}), client ${d.name}:`);
            for (const line of formatDiff(d.nest, d.ours)) console.log(line.replace(/^(\s*)nest:/, '$1run1:').replace(/^(\s*)ours:/, `$1run${k + 1}:`));
          }
        }
      }
      if (args.record) {
        writeFileSync(`${args.record}/${slug(scenario.name)}.nest.txt`, transcriptText(nestT));
        writeFileSync(`${args.record}/${slug(scenario.name)}.ours.txt`, transcriptText(oursT));
      }
      const diffs = differences(nestT, oursT);
      const accepted = diffs.length ? acceptedDeviations(scenario, diffs) : [];
      if (!diffs.length) {
        identical++;
        console.log(`ok - ${scenario.name}`);
      } else if (accepted) {
        identical++;
        deviations++;
        console.log(`ok - ${scenario.name} (deviation: ${[...new Set(accepted.map((d) => d.reason))].join('; ')})`);
      } else {
        console.log(`not ok - ${scenario.name}`);
        for (const d of diffs) {
          console.log(`  client ${d.name}:`);
          for (const line of formatDiff(d.nest, d.ours)) console.log(line);
        }
      }
    }
  } finally {
    for (const nest of Object.values(nests)) {
      if (args.record) writeFileSync(`${args.record}/nest-${nest.adapter}.log`, nest.log());
      nest.stop();
    }
  }
  const different = scenarios.length - identical;
  if (deviations) console.log(`declared deviations: ${deviations}`);
  console.log(`parity: ${scenarios.length} scenarios, ${identical} identical, ${different} different`);
  return different === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err.stack ?? err);
    process.exit(2);
  },
);
