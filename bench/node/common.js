// What the Node peer servers share: their command line and the Redis adapter.
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

/** `--port N` (or PORT; 0 picks a free port) and `--redis URL` (undefined without it). */
export const port = Number(argValue('--port') ?? process.env.PORT ?? 0);
export const redisUrl = argValue('--redis');
/** `--jwt SECRET`: every client needs an HS256 token signed with it (undefined without it). */
export const jwtSecret = argValue('--jwt');

/** A `@socket.io/redis-adapter` constructor over two connected clients of `url`. */
export async function redisAdapter(url) {
  const pubClient = createClient({ url });
  const subClient = pubClient.duplicate();
  for (const c of [pubClient, subClient]) {
    c.on('error', (err) => {
      console.error('redis:', err);
      process.exit(1);
    });
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  return createAdapter(pubClient, subClient);
}
