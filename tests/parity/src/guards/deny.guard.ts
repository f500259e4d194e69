// A guard that returns false rather than throwing: NestJS then throws
// WsException('Forbidden resource') itself (WsContextCreator.createGuardsFn).
import { CanActivate, Injectable } from '@nestjs/common';

@Injectable()
export class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}
