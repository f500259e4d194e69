// NestJS 12 gateway on @nestjs/platform-socket.io (IoAdapter): the Socket.IO benchmark peer.
// Usage: node nest-sio.js --port N [--jwt SECRET]   (or PORT=N; 0 picks a free port)
// With --jwt, a Socket.IO middleware refuses (CONNECT_ERROR) a client whose `auth.token` is not
// an HS256 token signed with SECRET with an `exp` claim (the reconnect storm's JWT variant).
// Plain JavaScript: the decorators are applied by calling them, as `tsc` would emit them.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import jwt from 'jsonwebtoken';
import { jwtSecret, port } from './common.js';
import { decorateHandlers } from './nest.js';

class BenchGateway {
  // @WebSocketServer() server  (set by Nest)

  // @SubscribeMessage('echo') echo(@MessageBody() data)
  echo(data) {
    return data;
  }

  // @SubscribeMessage('join') join(@ConnectedSocket() client)
  join(client) {
    client.join('bench');
    return 'ok';
  }

  // @SubscribeMessage('broadcast') broadcast(@MessageBody() data)
  broadcast(data) {
    this.server.to('bench').emit('bcast', data);
    return 'ok';
  }
}

if (jwtSecret) {
  // OnGatewayInit: a `server.use` middleware rather than a check in handleConnection, because
  // it refuses the namespace connect itself (CONNECT_ERROR, as ours and socketioxide do): in
  // handleConnection the client is already connected and could only be disconnected. Defined
  // only with --jwt, so that without it the gateway is exactly the one above.
  BenchGateway.prototype.afterInit = function afterInit(server) {
    server.use((socket, next) => {
      let claims;
      try {
        claims = jwt.verify(socket.handshake.auth.token, jwtSecret, { algorithms: ['HS256'] });
      } catch {
        // missing, malformed, badly signed or expired
      }
      // `exp` is required, as by the other servers.
      next(typeof claims?.exp === 'number' ? undefined : new Error('Unauthorized'));
    });
  };
}

decorateHandlers(BenchGateway);
WebSocketServer()(BenchGateway.prototype, 'server');
WebSocketGateway()(BenchGateway); // namespace "/" on the application's HTTP server

class AppModule {}
Module({ providers: [BenchGateway] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(port, '127.0.0.1');
console.log(`listening on 127.0.0.1:${app.getHttpServer().address().port}`);
