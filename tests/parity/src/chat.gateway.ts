// The guide's ChatGateway with its AuthenticatedGateway connection hook, ValidatedGateway pipe
// and ProtectedGateway guards (the Rust examples/src/chat.rs).
import type { IncomingMessage } from 'node:http';
import { UseFilters, UseGuards, UseInterceptors, UsePipes, ValidationPipe } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
  WsException,
} from '@nestjs/websockets';
import { SendMessageDto } from './dto/send-message.dto.js';
import { AllWsExceptionsFilter } from './filters/all-ws-exceptions.filter.js';
import { WsAuthGuard } from './guards/ws-auth.guard.js';
import { WsRoleGuard } from './guards/ws-role.guard.js';
import { WsLoggingInterceptor } from './interceptors/ws-logging.interceptor.js';
import {
  Client,
  clientData,
  disconnect,
  emit,
  emitToRoom,
  emitToRoomExceptSender,
  GatewayServer,
  handshake,
  isWs,
  join,
  leave,
  leaveAll,
} from './transport.js';

@WebSocketGateway(isWs ? { path: '/chat' } : { namespace: '/chat' })
@UseInterceptors(WsLoggingInterceptor)
export class ChatGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(private readonly jwtService: JwtService) {}

  @WebSocketServer()
  server: GatewayServer;

  // AuthenticatedGateway.handleConnection. platform-ws passes the upgrade request as the second
  // argument; socket.io sockets carry their handshake.
  async handleConnection(client: Client, request?: IncomingMessage) {
    try {
      const token = this.extractToken(client, request);

      if (!token) {
        throw new WsException('No token provided');
      }

      const payload = await this.jwtService.verifyAsync(token);
      clientData(client).user = payload;

      // Join user-specific room
      join(client, `user:${payload.sub}`);
    } catch (error) {
      emit(client, 'error', { message: 'Authentication failed' });
      disconnect(client);
    }
  }

  handleDisconnect(client: Client) {
    leaveAll(client);
  }

  // Authorization: Bearer first, then ?token=, then (socket.io) the CONNECT packet's auth.token.
  private extractToken(client: Client, request?: IncomingMessage): string | null {
    const { headers, query, auth } = handshake(client, request);

    const authHeader = headers.authorization;
    if (authHeader?.startsWith('Bearer ')) {
      return authHeader.split(' ')[1];
    }

    return (query('token') as string | undefined) ?? (auth.token as string | undefined) ?? null;
  }

  @SubscribeMessage('joinRoom')
  handleJoinRoom(@MessageBody() roomId: string, @ConnectedSocket() client: Client) {
    join(client, `room:${roomId}`);

    // Notify room (the sender included)
    emitToRoom(this.server, `room:${roomId}`, 'userJoined', {
      userId: clientData(client).user.sub,
      roomId,
    });

    return { joined: roomId };
  }

  @SubscribeMessage('leaveRoom')
  handleLeaveRoom(@MessageBody() roomId: string, @ConnectedSocket() client: Client) {
    leave(client, `room:${roomId}`);

    emitToRoom(this.server, `room:${roomId}`, 'userLeft', {
      userId: clientData(client).user.sub,
      roomId,
    });

    return { left: roomId };
  }

  @SubscribeMessage('sendMessage')
  @UsePipes(
    new ValidationPipe({
      transform: true,
      exceptionFactory: (errors) => new WsException(errors),
    }),
  )
  handleSendMessage(@MessageBody() data: SendMessageDto, @ConnectedSocket() client: Client) {
    const payload = {
      userId: clientData(client).user.sub,
      message: data.message,
      timestamp: new Date().toISOString(),
    };

    // Broadcast to room except sender
    emitToRoomExceptSender(client, `room:${data.roomId}`, 'newMessage', payload);

    return { sent: true };
  }

  // ProtectedGateway.adminAction
  @SubscribeMessage('adminAction')
  @UseGuards(WsAuthGuard, new WsRoleGuard('admin'))
  @UseFilters(AllWsExceptionsFilter)
  handleAdminAction() {
    return { success: true };
  }
}
