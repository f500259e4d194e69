// What the NestJS peers share: the handler decorators of the benchmark contract, applied by
// calling them, as `tsc` would emit them.
import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';

/** Applies `@SubscribeMessage` and the parameter decorators to `echo`, `join`, `broadcast`. */
export function decorateHandlers(gatewayClass) {
  const proto = gatewayClass.prototype;
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
  Reflect.defineMetadata('design:paramtypes', [], gatewayClass);
}
