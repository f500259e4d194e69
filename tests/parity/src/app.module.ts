import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { ChatGateway } from './chat.gateway.js';
import { EventsGateway } from './events.gateway.js';

// The providers are in the Rust example's order (chat, then events). Under socket.io this order
// matters: both gateways share one socket.io Server, created with the options of the gateway
// initialised first (SocketServerProvider); the second one only adds its namespace.
@Module({
  imports: [JwtModule.register({ secret: process.env.JWT_SECRET })],
  providers: [ChatGateway, EventsGateway],
})
export class AppModule {}
