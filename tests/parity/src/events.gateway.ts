// The guide's EventsGateway (the Rust examples/src/events.rs), plus `ping`, and the handlers
// that show each exception shape of the default filter (BaseWsExceptionFilter: no custom filter).
import { Logger, UseGuards } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  WsException,
} from '@nestjs/websockets';
import { DenyGuard } from './guards/deny.guard.js';
import { Client, GatewayServer, isWs } from './transport.js';

// Decorator options are read when this module loads: platform-ws serves a path (it throws on
// `namespace`), socket.io a namespace, with the guide's CORS (ALLOWED_ORIGINS unset: '*').
@WebSocketGateway(
  isWs
    ? { path: '/events' }
    : {
        cors: {
          origin: process.env.ALLOWED_ORIGINS?.split(',') || '*',
          credentials: true,
        },
        namespace: '/events',
      },
)
export class EventsGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(EventsGateway.name);

  @WebSocketServer()
  server: GatewayServer;

  afterInit(_server: GatewayServer) {
    this.logger.log('WebSocket Gateway initialized');
  }

  handleConnection(client: Client) {
    this.logger.log(`Client connected: ${(client as { id?: string }).id}`);
  }

  handleDisconnect(client: Client) {
    this.logger.log(`Client disconnected: ${(client as { id?: string }).id}`);
  }

  @SubscribeMessage('message')
  handleMessage(@MessageBody() data: { text: string }, @ConnectedSocket() client: Client) {
    // As the guide: `data.text` throws a TypeError when the body is null or absent.
    this.logger.log(`Message from ${(client as { id?: string }).id}: ${data.text}`);
    return { event: 'message', data: { received: true } };
  }

  @SubscribeMessage('ping')
  ping() {
    return 'pong';
  }

  @SubscribeMessage('boom')
  boom() {
    throw new WsException('test');
  }

  @SubscribeMessage('boomObject')
  boomObject() {
    throw new WsException({ code: 'E_BOOM', message: 'object error' });
  }

  @SubscribeMessage('crash')
  crash() {
    throw new Error('the disk caught fire');
  }

  @SubscribeMessage('secret')
  @UseGuards(DenyGuard)
  secret() {
    return 'secret';
  }
}
