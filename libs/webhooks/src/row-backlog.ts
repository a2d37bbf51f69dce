import { WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';

export interface BacklogRow {
  d: WebhookDeliveryDoc;
  ep: WebhookEndpointDoc | null;
}

/**
 * Rows leased to this node (at insert, or drained from the parked rows) waiting for a slot, per endpoint,
 * oldest first, with the endpoint they are sent with. Bounded: `max` rows, counting those whose insert
 * has not answered yet (reserve, settle).
 */
export class RowBacklog {
  private readonly queues = new Map<string, BacklogRow[]>();
  private size = 0;
  /** Rows reserved (leased in a pending insert) and not settled yet. */
  private leasing = 0;

  constructor(private readonly max: number) {}

  /** Rows that may still join. */
  room(): number {
    return Math.max(0, this.max - this.size - this.leasing);
  }

  /** Reserves room for one row about to be inserted leased; false when full. */
  reserve(): boolean {
    if (!this.room()) return false;
    this.leasing++;
    return true;
  }

  /** `n` reserved rows' insert answered (those stored are then added). */
  settle(n: number): void {
    this.leasing -= n;
  }

  add(rows: WebhookDeliveryDoc[], endpoints: ReadonlyMap<string, WebhookEndpointDoc>): void {
    for (const d of rows) {
      const queue = this.queues.get(d.endpoint_id) ?? [];
      if (!queue.length) this.queues.set(d.endpoint_id, queue);
      queue.push({ d, ep: endpoints.get(d.endpoint_id) ?? null });
      this.size++;
    }
  }

  /** Removes and returns the rows of the tenant's endpoints (all, when absent); `emptied` hears of each endpoint. */
  drop(tenantId: string | undefined, emptied: (endpointId: string) => void): WebhookDeliveryDoc[] {
    const dropped: WebhookDeliveryDoc[] = [];
    for (const [endpointId, queue] of this.queues) {
      if (tenantId !== undefined && queue[0]?.d.tenant_id !== tenantId) continue;
      dropped.push(...queue.map(({ d }) => d));
      this.queues.delete(endpointId);
      this.size -= queue.length;
      emptied(endpointId);
    }
    return dropped;
  }

  /**
   * Hands rows to `start`, oldest first per endpoint, while `fits(endpointId)`; `emptied` hears of each
   * endpoint whose queue empties; stops once `full()`.
   */
  pump(fits: (endpointId: string) => boolean, start: (row: BacklogRow) => void, emptied: (endpointId: string) => void, full: () => boolean): void {
    for (const [endpointId, queue] of this.queues) {
      while (queue.length && fits(endpointId)) {
        this.size--;
        start(queue.shift()!);
      }
      if (!queue.length) {
        this.queues.delete(endpointId);
        emptied(endpointId);
      }
      if (full()) return;
    }
  }
}
