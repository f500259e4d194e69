// The guide's WsRoleGuard: the user's `role` claim must be the required one.
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { Client, clientData } from '../transport.js';

@Injectable()
export class WsRoleGuard implements CanActivate {
  constructor(private readonly requiredRole: string) {}

  canActivate(context: ExecutionContext): boolean {
    const client = context.switchToWs().getClient<Client>();
    const user = clientData(client).user;

    if (user?.role !== this.requiredRole) {
      throw new WsException('Forbidden');
    }

    return true;
  }
}
