// The guide's AllWsExceptionsFilter. Kept verbatim on purpose, including its spread of
// `exception.getError()`: for `new WsException('Forbidden')` that value is a string, and spreading
// a string copies its characters ({"0":"F","1":"o",…}). The `as object` cast only silences
// TypeScript's "spread types may only be created from object types"; the behaviour is the guide's.
import { ArgumentsHost, Catch } from '@nestjs/common';
import { BaseWsExceptionFilter, WsException } from '@nestjs/websockets';
import { Client, emit } from '../transport.js';

@Catch()
export class AllWsExceptionsFilter extends BaseWsExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost) {
    const client = host.switchToWs().getClient<Client>();

    const error =
      exception instanceof WsException
        ? exception.getError()
        : { message: 'Internal error', code: 'INTERNAL_ERROR' };

    // client.emit('exception', …) in the guide; `emit` also covers platform-ws clients.
    emit(client, 'exception', {
      status: 'error',
      ...(error as object),
    });
  }
}
