/* A real HTTP webhook receiver on loopback for the webhook tests: records every request and answers
 * with whatever `respond` decides (a status, or a promise the test resolves later). It can go down
 * and come back on the same port. */
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Fast retries so "down for a while" is a fraction of a second; the sweeper is driven by hand. */
export const WEBHOOK_TEST_ENV: Record<string, string> = {
  WEBHOOK_ALLOW_INSECURE_URLS: 'true',
  WEBHOOK_DISPATCH_INTERVAL_MS: '100',
  WEBHOOK_BACKOFF_BASE_MS: '100',
  WEBHOOK_BACKOFF_MAX_MS: '400',
  WEBHOOK_SWEEP_INTERVAL_MS: '0',
  WEBHOOK_TIMEOUT_MS: '2000',
  WEBHOOK_LEASE_MS: '5000',
};

export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  signature: string;
  raw: string;
  body: { id: string; type: string; created_at: string; tenant_id: string; data: Record<string, unknown> };
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Status to answer with (may wait on a promise the test controls). Default 200. */
  respond: (req: ReceivedWebhook, nth: number) => number | Promise<number> = () => 200;
  private server?: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req).then((status) => res.writeHead(status).end(), () => res.writeHead(400).end()));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Down: the port refuses connections until start() again. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  ofType(type: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.body.type === type);
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const r: ReceivedWebhook = {
      id: String(req.headers['x-webhook-id']),
      timestamp: Number(req.headers['x-webhook-timestamp']),
      signature: String(req.headers['x-webhook-signature']),
      raw,
      body: JSON.parse(raw) as ReceivedWebhook['body'],
    };
    this.received.push(r);
    return this.respond(r, this.received.length);
  }
}
