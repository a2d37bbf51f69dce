import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { Clock } from '@chat/clock';
import type { WebhookDispatcher } from './webhook-dispatcher';
import { leaseDueRows, type FreshRowTaker } from './webhook-outbox';
import type { WebhookDeliveryDoc } from './webhook.schemas';

/**
 * What the serving process tells its delivery worker (WEBHOOK_DELIVERY_WORKER) over the IPC channel:
 * rows it inserted already leased for the worker, and endpoint changes seen on the serving process.
 */
export type DeliveryWorkerMessage =
  | { kind: 'webhook-rows'; rows: WebhookDeliveryDoc[] }
  | { kind: 'webhook-endpoints-changed'; tenantId?: string }
  | { kind: 'webhook-endpoint-retry'; endpointId: string };

/** The IPC side of a forked child as the serving process sees it (node:child_process ChildProcess). */
export interface WorkerChannel {
  readonly connected: boolean;
  send(message: DeliveryWorkerMessage): boolean;
}

/**
 * The serving process's FreshRowTaker when a child process delivers: rows due now are inserted
 * already leased (as the in-process dispatcher does for itself), and once stored they are handed to
 * the worker, which starts them with no claim write and no due-rows query. The serving process then
 * pays for recording only: no signature, no POST, no outcome writes on its event loop.
 *
 * Nothing is lost if the hand-over fails (the worker died, the channel closed): the rows are stored
 * with a lease nobody works on; it runs out after WEBHOOK_LEASE_MS and the worker's full scan (or any
 * delivering node's) claims them, as after any node's crash. Rows recorded while no worker is
 * connected go in free, for the worker's scans.
 */
export class ForwardingTaker implements FreshRowTaker {
  private readonly logger = new Logger('WebhookDeliveryWorker');
  private readonly id = `fwd-${randomUUID()}`;
  private seq = 0;

  constructor(
    private readonly channel: () => WorkerChannel | null,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  leaseFresh(rows: WebhookDeliveryDoc[]): ((inserted: ReadonlySet<number>) => void) | null {
    if (!this.channel()?.connected) return null;
    const now = this.clock.now();
    // One token per batch: the worker finds its outcome writes' rows by it, as for a claim.
    const token = `${this.id}:${++this.seq}`;
    const taken = leaseDueRows(rows, token, now, this.config.WEBHOOK_LEASE_MS);
    if (!taken.length) return null;
    return (inserted) => {
      const mine = taken.filter((i) => inserted.has(i)).map((i) => rows[i]!);
      if (mine.length) this.send({ kind: 'webhook-rows', rows: mine });
    };
  }

  endpointsChanged(tenantId?: string): void {
    this.send({ kind: 'webhook-endpoints-changed', tenantId });
  }

  retryEndpoint(endpointId: string): void {
    this.send({ kind: 'webhook-endpoint-retry', endpointId });
  }

  private send(message: DeliveryWorkerMessage): void {
    const ch = this.channel();
    try {
      if (ch?.connected) ch.send(message);
    } catch (err) {
      // The rows' leases run out, then a scan claims them (see above).
      this.logger.warn(`could not hand webhook rows to the delivery worker: ${(err as Error).message}`);
    }
  }
}

const DATE_FIELDS = ['next_attempt_at', 'retry_until', 'lease_until', 'delivered_at', 'created_at', 'updated_at'] as const;

/** A row as it came over the (JSON) IPC channel: its dates are strings again. */
export function reviveRow(raw: WebhookDeliveryDoc): WebhookDeliveryDoc {
  const row = { ...raw } as Record<string, unknown>;
  for (const f of DATE_FIELDS) if (typeof row[f] === 'string') row[f] = new Date(row[f] as string);
  return row as unknown as WebhookDeliveryDoc;
}

/** What the worker sends once it listens: rows sent before would be dropped by its IPC channel unheard. */
export const WORKER_READY = { kind: 'webhook-worker-ready' } as const;

/** The worker's side: what the serving process sends goes to this process's dispatcher. */
export function serveForwardedRows(dispatcher: WebhookDispatcher, from: NodeJS.Process = process): void {
  from.on('message', (m: DeliveryWorkerMessage) => {
    if (m?.kind === 'webhook-rows' && Array.isArray(m.rows)) dispatcher.adoptLeased(m.rows.map(reviveRow));
    else if (m?.kind === 'webhook-endpoints-changed') dispatcher.endpointsChanged(m.tenantId);
    else if (m?.kind === 'webhook-endpoint-retry') dispatcher.retryEndpoint(m.endpointId);
  });
  from.send?.(WORKER_READY);
}
