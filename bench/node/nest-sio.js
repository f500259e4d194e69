// NestJS 12 gateway on @nestjs/platform-socket.io (IoAdapter): the Socket.IO benchmark peer.
// Usage: node nest-sio.js --port N   (or PORT=N; 0 picks a free port)
// Plain JavaScript: the decorators are applied by calling them, as `tsc` would emit them.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { port } from './common.js';
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

decorateHandlers(BenchGateway);
WebSocketServer()(BenchGateway.prototype, 'server');
WebSocketGateway()(BenchGateway); // namespace "/" on the application's HTTP server

class AppModule {}
Module({ providers: [BenchGateway] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(port, '127.0.0.1');
console.log(`listening on 127.0.0.1:${app.getHttpServer().address().port}`);
