/**
 * Rows whose attempt on this node failed and that stay leased to it until their retry is due
 * (WebhookDeliveriesRepository.finish): the node retries them itself then, claimed by id, so the
 * frequent scans for free rows never read the rows waiting for a retry (FerretDB decodes every row a
 * query reads: a failing receiver piles them up with the message rate, issue 14). Bounded: beyond
 * `max` a row is not kept, and like every row here when the node stops, its lease runs out at its due
 * time and any node's full scan retries it.
 */
export class HeldRetries {
  private readonly rows = new Map<string, { endpointId: string; at: number; owner?: string }>();
  /** The earliest due time kept (Clock ms). */
  private next = Infinity;

  constructor(private readonly max: number) {}

  /** Keeps the row due at `at` (Clock ms), leased by `owner`; false when full (the caller leaves its lease to run out). */
  add(id: string, endpointId: string, at: number, owner?: string): boolean {
    if (this.rows.size >= this.max && !this.rows.has(id)) return false;
    this.rows.set(id, { endpointId, at, owner });
    this.next = Math.min(this.next, at);
    return true;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  /** Some row is due at `now`. */
  anyDue(now: number): boolean {
    return this.next <= now;
  }

  /** The rows due at `now`, earliest first, but those of endpoints `skip` names (an open circuit: EndpointBreakers). */
  due(now: number, skip: (endpointId: string) => boolean = () => false): Array<{ _id: string; endpoint_id: string; owner?: string }> {
    if (now < this.next) return [];
    const due = [...this.rows].filter(([, h]) => h.at <= now && !skip(h.endpointId)).sort(([, x], [, y]) => x.at - y.at);
    return due.map(([id, h]) => ({ _id: id, endpoint_id: h.endpointId, owner: h.owner }));
  }

  /** The owners (claim tokens) of the endpoint's rows kept here. */
  owners(endpointId: string): string[] {
    const owners = new Set<string>();
    for (const h of this.rows.values()) if (h.endpointId === endpointId && h.owner) owners.add(h.owner);
    return [...owners];
  }

  /** The endpoints' rows are due at `now` at the latest (their circuit closed: they are sent as the bounds allow). */
  dueBy(endpointIds: ReadonlySet<string>, now: number): void {
    for (const h of this.rows.values()) {
      if (!endpointIds.has(h.endpointId)) continue;
      h.at = Math.min(h.at, now);
      this.next = Math.min(this.next, h.at);
    }
  }

  /** Forgets these rows (taken for an attempt: a claim decides whether they are still ours). */
  remove(ids: Iterable<string>): void {
    let removed = false;
    for (const id of ids) removed = this.rows.delete(id) || removed;
    if (!removed) return;
    this.next = Infinity;
    for (const h of this.rows.values()) this.next = Math.min(this.next, h.at);
  }
}
