import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { quietAwsSdkNodeWarning, CoreModule } from '@chat/server';
import { serveForwardedRows, WebhookDispatcher, WebhooksModule } from '@chat/webhooks';

/** Webhook delivery only: the dispatcher, the outbox sweeper and what they need; no HTTP, no sockets. */
@Module({ imports: [CoreModule, WebhooksModule] })
class WebhookWorkerModule {}

/**
 * The delivery worker `npm start` forks when WEBHOOK_DELIVERY_WORKER is on (delivery-worker-process.ts):
 * it delivers the rows the serving process hands it over IPC, and scans for the rest (retries, rows
 * recorded while it was down, leases run out) like any delivering node. It stops when the serving
 * process goes away (the IPC channel closes), after the attempts in flight finish.
 */
async function main(): Promise<void> {
  quietAwsSdkNodeWarning();
  const app = await NestFactory.createApplicationContext(WebhookWorkerModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await app.init();
  serveForwardedRows(app.get(WebhookDispatcher));
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    try {
      await app.close();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

void main().catch((err: Error) => {
  console.error(`webhook delivery worker failed to start: ${err.stack ?? err.message}`);
  process.exit(1);
});
