// The guide's WsAuthGuard: a socket without `client.data.user` is refused.
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { Client, clientData } from '../transport.js';

@Injectable()
export class WsAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const client = context.switchToWs().getClient<Client>();

    if (!clientData(client).user) {
      throw new WsException('Unauthorized');
    }

    return true;
  }
}
