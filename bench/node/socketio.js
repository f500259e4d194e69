// Plain socket.io 4 on node:http: the Socket.IO benchmark peer.
// Usage: node socketio.js --port N [--redis redis://127.0.0.1:6379]   (or PORT=N; 0 picks a free port)
// With --redis, @socket.io/redis-adapter carries room broadcasts between instances.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}
const port = Number(argValue('--port') ?? process.env.PORT ?? 0);
const redisUrl = argValue('--redis');

const httpServer = createServer();
const io = new Server(httpServer);

if (redisUrl) {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  for (const c of [pubClient, subClient]) {
    c.on('error', (err) => {
      console.error('redis:', err);
      process.exit(1);
    });
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
}

io.on('connection', (socket) => {
  socket.on('echo', (data, ack) => {
    ack(data);
  });
  socket.on('join', (ack) => {
    socket.join('bench');
    ack('ok');
  });
  socket.on('broadcast', (data, ack) => {
    io.to('bench').emit('bcast', data);
    ack('ok');
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${httpServer.address().port}`);
});
