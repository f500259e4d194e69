// NestJS 12 gateway on @nestjs/platform-ws (WsAdapter): the JSON-format benchmark peer.
// Usage: node nest-ws.js --port N   (or PORT=N; 0 picks a free port)
// Plain JavaScript: the decorators are applied by calling them, as `tsc` would emit them.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { WsAdapter } from '@nestjs/platform-ws';

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}
const port = Number(argValue('--port') ?? process.env.PORT ?? 0);

const OPEN = 1; // WebSocket.OPEN

class BenchGateway {
  // Room "bench": ws has no rooms, so the gateway keeps the member sockets.
  room = new Set();

  handleDisconnect(client) {
    this.room.delete(client);
  }

  // @SubscribeMessage('echo') echo(@MessageBody() data)
  echo(data) {
    return data;
  }

  // @SubscribeMessage('join') join(@ConnectedSocket() client)
  join(client) {
    this.room.add(client);
    return 'ok';
  }

  // @SubscribeMessage('broadcast') broadcast(@MessageBody() data)
  broadcast(data) {
    const frame = JSON.stringify({ event: 'bcast', data });
    for (const client of this.room) {
      if (client.readyState === OPEN) client.send(frame);
    }
    return 'ok';
  }
}

const proto = BenchGateway.prototype;
for (const [method, paramDecorator] of [
  ['echo', MessageBody()],
  ['join', ConnectedSocket()],
  ['broadcast', MessageBody()],
]) {
  Reflect.decorate(
    [SubscribeMessage(method)],
    proto,
    method,
    Object.getOwnPropertyDescriptor(proto, method),
  );
  paramDecorator(proto, method, 0);
  Reflect.defineMetadata('design:paramtypes', [Object], proto, method);
}
Reflect.defineMetadata('design:paramtypes', [], BenchGateway);
WebSocketGateway()(BenchGateway); // path "/" on the application's HTTP server

class AppModule {}
Module({ providers: [BenchGateway] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
app.useWebSocketAdapter(new WsAdapter(app));
await app.listen(port, '127.0.0.1');
console.log(`listening on 127.0.0.1:${app.getHttpServer().address().port}`);
