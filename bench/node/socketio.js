// Plain socket.io 4 on node:http: the Socket.IO benchmark peer.
// Usage: node socketio.js --port N [--redis redis://127.0.0.1:6379]   (or PORT=N; 0 picks a free port)
// With --redis, @socket.io/redis-adapter carries room broadcasts between instances.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { port, redisAdapter, redisUrl } from './common.js';

const httpServer = createServer();
const io = new Server(httpServer);

if (redisUrl) {
  io.adapter(await redisAdapter(redisUrl));
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
