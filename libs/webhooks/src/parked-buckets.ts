import { ParkedBucketDoc } from './parked-endpoints.repository';

/**
 * Rows whose retry windows end within one slot share buckets: the expiry reads the parked rows of the
 * slots that began by `now` (one query per slot), so a failed probe decodes the rows due to die and at
 * most a slot's worth of others, not every row of the outage.
 */
export const PARKED_SLOT_MS = 60_000;
/**
 * Rows a bucket takes before its node moves on to the next one (a few more while the next bucket's
 * document is being written): one drain query reads one bucket, claims it and sends it.
 */
export const PARKED_BUCKET_ROWS = 100;

/** Where a row is parked: what it carries as `parked_bucket` and `parked_slot`. */
export interface BucketRef {
  key: string;
  slot: number;
}

interface SlotState {
  /** The bucket rows go into now (-1: none written yet) and how many it took. */
  n: number;
  count: number;
  /** The next bucket, written ahead (ready once its document is stored). */
  next: { n: number; ready: boolean; written: Promise<void> } | null;
}

let allocators = 0;

/**
 * One node's buckets of one endpoint (ParkedEndpoints keeps one per endpoint it holds a record of). A row
 * is parked only into a bucket whose document (ParkedEndpointsRepository.openBucket) is stored, so the
 * drain and the expiry, which list the documents, find every bucket; the next bucket of a slot is
 * written when the current one is half full, and the first of the next slot when a slot gets its first
 * row (fresh rows' windows end one slot after another). Keys are unique to this allocator (`owner`): a
 * node that drops its record deletes its own documents, never those of a newer allocator of the endpoint.
 */
export class ParkedBuckets {
  readonly owner: string;
  private readonly slots = new Map<number, SlotState>();
  private maxSlot = -Infinity;
  /** The last bucket a row went into (a probe's first place to look). */
  last: BucketRef | null = null;

  constructor(
    private readonly endpointId: string,
    private readonly tenantId: string,
    node: string,
    private readonly open: (doc: ParkedBucketDoc) => Promise<void>,
    private readonly failed: (err: Error) => void,
  ) {
    this.owner = `${node}:${++allocators}`;
  }

  /** The bucket a row whose retry window ends at `retryUntil` goes into now, or null: none of its slot is stored yet (one is being written). */
  take(retryUntil: number): BucketRef | null {
    const slot = Math.floor(retryUntil / PARKED_SLOT_MS);
    const s = this.slot(slot);
    if (slot > this.maxSlot) {
      this.maxSlot = slot;
      this.slot(slot + 1);
    }
    if (s.next?.ready && (s.n < 0 || s.count >= PARKED_BUCKET_ROWS)) {
      s.n = s.next.n;
      s.count = 0;
      s.next = null;
    }
    if (!s.next && (s.n < 0 || s.count >= PARKED_BUCKET_ROWS / 2)) this.ask(slot, s, s.n + 1);
    if (s.n < 0) return null;
    s.count++;
    this.last = { key: this.key(slot, s.n), slot };
    return this.last;
  }

  /**
   * Writes ahead the first bucket of the slot of `retryUntil` (and of the next slot), unless written:
   * ParkedEndpoints calls it with its record's renewal for the windows of rows recorded now, so fresh rows
   * find their bucket stored even after a pause longer than a slot. Resolves once it is stored (or failed).
   */
  prepare(retryUntil: number): Promise<void> {
    const slot = Math.floor(retryUntil / PARKED_SLOT_MS);
    const s = this.slot(slot);
    this.slot(slot + 1);
    return s.n < 0 && s.next ? s.next.written : Promise.resolve();
  }

  /** Forgets slots no row can be parked into any more (their windows ended `marginMs` ago). */
  prune(now: number, marginMs: number): void {
    for (const slot of this.slots.keys()) if ((slot + 1) * PARKED_SLOT_MS + marginMs <= now) this.slots.delete(slot);
  }

  /** The slot's state; a new one has its first bucket written now. */
  private slot(slot: number): SlotState {
    let s = this.slots.get(slot);
    if (!s) {
      s = { n: -1, count: 0, next: null };
      this.slots.set(slot, s);
      this.ask(slot, s, 0);
    }
    return s;
  }

  private ask(slot: number, s: SlotState, n: number): void {
    const key = this.key(slot, n);
    const doc: ParkedBucketDoc = { _id: `${this.endpointId}:${key}`, endpoint_id: this.endpointId, tenant_id: this.tenantId, key, owner: this.owner, slot, retry_from: new Date(slot * PARKED_SLOT_MS) };
    const next = { n, ready: false, written: Promise.resolve() };
    s.next = next;
    next.written = this.open(doc).then(
      () => void (next.ready = true),
      (err: Error) => {
        // Asked again by the next row of the slot.
        if (s.next === next) s.next = null;
        this.failed(err);
      },
    );
  }

  private key(slot: number, n: number): string {
    return `${this.owner}:${slot}:${n}`;
  }
}
