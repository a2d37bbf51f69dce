import type { Clock } from '@chat/clock';
import { CoalescedFlush } from './coalesced-flush';
import type { WebhookDeliveriesRepository } from './deliveries.repository';
import type { WebhookAttemptDoc, WebhookDeliveryDoc } from './webhook.schemas';

/** Delivered outcomes waiting for their write beyond which a finished attempt keeps its slot until written (and they are written at once). */
export const OUTCOMES_WAITING_MAX = 100;
/**
 * Delivered outcomes finishing within this long are written together (two commands per batch, three
 * when one of them was not a first attempt): every database command costs the node a socket write and
 * a read, as the sends' own do. Only the status and the lease's release wait for it, not the next
 * attempt (unless OUTCOMES_WAITING_MAX are waiting). These writes, not the POSTs nor the recording, are
 * what slows the sends beside delivery (they share the store and the cores): 1 s and 100 rows (was
 * 200 ms and 32) take ~180 µs per message off the worker's CPU (bench/RESULTS.md, "Webhook delivery
 * and ack latency"); a first-try 2xx writing no attempt document of its own (folded into its row)
 * another ~140 µs (−17 %), with 43 % fewer bytes stored per event ("First-try attempts folded into the
 * delivery row"). Of what is left, the pending rows' deleteMany is the larger part on FerretDB.
 */
const OUTCOME_WINDOW_MS = 1000;

export interface DeliveredOutcome {
  /** The row as claimed (written to the log as delivered). */
  row: WebhookDeliveryDoc;
  owner: string;
  statusCode: number;
  log: Omit<WebhookAttemptDoc, '_id'>;
}

/**
 * The dispatcher's 2xx outcomes, written in batches: one insertMany of the attempt logs of rows that
 * had attempts before (a retry, a replay: rare), then per status code the rows' move to the log
 * (WebhookDeliveriesRepository.finishDelivered). A first attempt is not logged apart: it goes into its
 * row (WebhookDeliveryDoc.first_attempt), which the log insert writes anyway.
 */
export class DeliveredOutcomes {
  private readonly waiting: Array<DeliveredOutcome & { done: () => void; failed: (err: unknown) => void }> = [];
  private readonly flusher = new CoalescedFlush(
    () => this.flush(),
    () => this.waiting.length > 0,
    OUTCOME_WINDOW_MS,
    () => this.waiting.length >= OUTCOMES_WAITING_MAX,
  );

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly clock: Clock,
    /** A batch could not be written: its leases are left to run out (then retried, same X-Webhook-Id). */
    private readonly unwritten: () => void,
  ) {}

  /** Outcomes waiting for the next write. */
  get size(): number {
    return this.waiting.length;
  }

  /** Queues a delivered row's outcome; resolves once it is written (its lease released). */
  add(o: DeliveredOutcome): Promise<void> {
    return new Promise((done, failed) => {
      this.waiting.push({ ...o, done, failed });
      this.flusher.soon();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting.splice(0);
    try {
      await this.deliveries.recordAttempts(batch.filter((b) => !folds(b)).map((b) => b.log));
      const at = new Date(this.clock.now());
      const byCode = new Map<number, DeliveredOutcome[]>();
      for (const b of batch) {
        const same = byCode.get(b.statusCode);
        if (same) same.push(b);
        else byCode.set(b.statusCode, [b]);
      }
      for (const [code, items] of byCode) {
        const rows = items.map((i) => (folds(i) ? { ...i.row, first_attempt: { at: i.log.at, status_code: code, latency_ms: i.log.latency_ms } } : i.row));
        await this.deliveries.finishDelivered(rows, [...new Set(items.map((i) => i.owner))], code, at);
      }
      for (const b of batch) b.done();
    } catch (err) {
      if (batch.length) this.unwritten();
      for (const b of batch) b.failed(err);
    }
  }
}

/**
 * The row's first attempt (its log's `attempt` is `row.attempts + 1`), and a 2xx (every outcome here is):
 * kept on the row, not as an attempt document.
 */
function folds(o: DeliveredOutcome): boolean {
  return o.row.attempts === 0 && !o.row.first_attempt;
}
