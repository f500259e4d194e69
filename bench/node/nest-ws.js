// NestJS 12 gateway on @nestjs/platform-ws (WsAdapter): the JSON-format benchmark peer.
// Usage: node nest-ws.js --port N [--jwt SECRET]   (or PORT=N; 0 picks a free port)
// With --jwt, handleConnection closes (1008) a client whose `?token=` is not an HS256 token
// signed with SECRET with an `exp` claim (the reconnect storm's JWT variant).
// Plain JavaScript: the decorators are applied by calling them, as `tsc` would emit them.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WebSocketGateway } from '@nestjs/websockets';
import { WsAdapter } from '@nestjs/platform-ws';
import jwt from 'jsonwebtoken';
import { jwtSecret, port } from './common.js';
import { decorateHandlers } from './nest.js';

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

if (jwtSecret) {
  // OnGatewayConnection: the WsAdapter passes the upgrade request after the client. Defined
  // only with --jwt, so that without it the gateway is exactly the one above.
  BenchGateway.prototype.handleConnection = function handleConnection(client, request) {
    const token = new URL(request.url, 'http://localhost').searchParams.get('token');
    let claims;
    try {
      claims = jwt.verify(token, jwtSecret, { algorithms: ['HS256'] });
    } catch {
      // missing, malformed, badly signed or expired
    }
    // `exp` is required, as by the other servers.
    if (typeof claims?.exp !== 'number') client.close(1008, 'Unauthorized'); // policy violation
  };
}

decorateHandlers(BenchGateway);
WebSocketGateway()(BenchGateway); // path "/" on the application's HTTP server

class AppModule {}
Module({ providers: [BenchGateway] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
app.useWebSocketAdapter(new WsAdapter(app));
await app.listen(port, '127.0.0.1');
console.log(`listening on 127.0.0.1:${app.getHttpServer().address().port}`);
