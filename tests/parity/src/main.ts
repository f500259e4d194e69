// `ADAPTER=ws|io PORT=0 JWT_SECRET=… node dist/main.js`: prints `listening on <port>` on stdout
// when ready; the logger writes to stderr (NEST_LOG=1 adds the `log` level).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { AppModule } from './app.module.js';
import { StderrLogger } from './stderr-logger.js';
import { isWs } from './transport.js';

async function bootstrap() {
  if (!process.env.JWT_SECRET) throw new Error('JWT_SECRET is required');
  const logger = new StderrLogger();
  logger.setLogLevels(process.env.NEST_LOG ? ['log', 'warn', 'error', 'fatal'] : ['warn', 'error', 'fatal']);
  const app = await NestFactory.create(AppModule, { logger });
  app.useWebSocketAdapter(isWs ? new WsAdapter(app) : new IoAdapter(app));
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  process.stdout.write(`listening on ${app.getHttpServer().address().port}\n`);
}

void bootstrap();
