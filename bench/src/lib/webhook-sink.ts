import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findFreePort } from '../../../libs/dev-services/src';

/**
 * How the bench's webhook receiver behaves (`--webhook-receiver`): `ok` answers 204 at once (a healthy
 * receiver); `slow` answers 204 after `slowMs` (by default beyond the sender's WEBHOOK_TIMEOUT_MS, so
 * every attempt times out and is retried); `fail` answers 500 at once; `down` listens nowhere (a port
 * found free, then left closed: every attempt's connection is refused).
 */
export type ReceiverMode = 'ok' | 'slow' | 'fail' | 'down';
export const RECEIVER_MODES: ReceiverMode[] = ['ok', 'slow', 'fail', 'down'];

/** Connections the receiver keeps at once; beyond it new ones are refused by the server (bounded, whatever the sender does). */
const MAX_CONNECTIONS = 256;

/**
 * A webhook receiver on loopback for the `project+webhook*` targets. It never buffers a body (each
 * request is drained and dropped), holds at most MAX_CONNECTIONS sockets, and counts what arrived:
 * requests received, answered, and (slow) given up by the sender before the answer.
 */
export class WebhookSink {
  received = 0;
  answered = 0;
  /** Requests whose connection the sender closed before the answer (slow: its timeout). */
  abandoned = 0;
  private server?: Server;
  private readonly held = new Set<{ res: ServerResponse; timer: NodeJS.Timeout }>();

  constructor(
    readonly mode: ReceiverMode = 'ok',
    private readonly slowMs = 15_000,
  ) {}

  async start(): Promise<string> {
    if (this.mode === 'down') return `http://127.0.0.1:${await findFreePort()}/hooks`;
    this.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.received++;
        if (this.mode !== 'slow') return this.answer(res, this.mode === 'fail' ? 500 : 204);
        const entry = {
          res,
          timer: setTimeout(() => {
            this.held.delete(entry);
            this.answer(res, 204);
          }, this.slowMs),
        };
        this.held.add(entry);
        res.on('close', () => {
          if (!this.held.delete(entry)) return;
          clearTimeout(entry.timer);
          this.abandoned++;
        });
      });
    });
    this.server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  private answer(res: ServerResponse, status: number): void {
    if (res.destroyed) return;
    this.answered++;
    res.writeHead(status).end();
  }

  /** One line for the run's notes. */
  describe(): string {
    if (this.mode === 'down') return 'webhook receiver down (nothing listening: connections refused)';
    const extra = this.mode === 'slow' ? `, ${this.answered} answered 204 after ${this.slowMs} ms, ${this.abandoned} given up by the sender first` : '';
    return `${this.received} webhooks received by the end of the run (receiver ${this.mode}${extra})`;
  }

  async stop(): Promise<void> {
    for (const { timer } of this.held) clearTimeout(timer);
    this.held.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
