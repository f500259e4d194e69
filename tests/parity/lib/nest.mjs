// Starts the NestJS twin (dist/main.js) and waits for its `listening on <port>` line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export function startNest(adapter, secret) {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run \`npm ci && npm run build\` in tests/parity first`);
  }
  const proc = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...process.env, ADAPTER: adapter, PORT: '0', JWT_SECRET: secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  proc.stderr.on('data', (chunk) => log.push(chunk));
  const ready = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`nest-${adapter} did not start within 30 s`)), 30_000);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/^listening on (\d+)$/m);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nest-${adapter} exited with ${code}:\n${Buffer.concat(log)}`));
    });
  });
  return {
    adapter,
    ready,
    log: () => Buffer.concat(log).toString(),
    stop: () => {
      proc.removeAllListeners('exit');
      proc.kill('SIGTERM');
    },
  };
}
