// NestJS's ConsoleLogger writes log/warn/debug to stdout; stdout carries only the
// `listening on <port>` line the runner waits for, so every level goes to stderr here.
import { ConsoleLogger, LogLevel } from '@nestjs/common';

export class StderrLogger extends ConsoleLogger {
  protected printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}
