import { AppConfig } from '@chat/config';

/** Attempts in flight on this node, all endpoints together. */
const NODE_CONCURRENCY = 32;

/**
 * This node's attempts in flight and its two concurrency bounds: NODE_CONCURRENCY in all, and
 * WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT per endpoint, so a slow receiver holds up only its own rows. The
 * dispatcher takes a slot when it starts an attempt and frees it as WebhookDispatcher.track says; its
 * scans (DueRowScans) and its backlog (pump) start rows as the bounds allow.
 */
export class AttemptSlots {
  /** Attempts whose receiver has not answered yet (the node bound). */
  private active = 0;
  private readonly perEndpoint = new Map<string, number>();
  /** Attempts not finished yet (their outcome not written): shutdown and runOnce wait for them. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly config: AppConfig) {}

  /** Endpoints at their bound (a scan leaves their rows out). */
  busy(): string[] {
    const limit = this.config.WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT;
    return [...this.perEndpoint].filter(([, n]) => n >= limit).map(([id]) => id);
  }

  /** Each endpoint's slots taken, as a copy a scan counts its picks into. */
  planned(): Map<string, number> {
    return new Map(this.perEndpoint);
  }

  /** The node is at its bound with `more` attempts started beyond those holding a slot. */
  nodeFull(more = 0): boolean {
    return this.active + more >= NODE_CONCURRENCY;
  }

  /** An attempt to the endpoint may start now (both bounds). */
  fits(endpointId: string): boolean {
    return this.active < NODE_CONCURRENCY && (this.perEndpoint.get(endpointId) ?? 0) < this.config.WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT;
  }

  /** Takes a slot of the endpoint; the release returned frees it once (later calls do nothing), then calls `freed`. */
  take(endpointId: string, freed: () => void): () => void {
    this.active++;
    this.perEndpoint.set(endpointId, (this.perEndpoint.get(endpointId) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.active--;
      const n = (this.perEndpoint.get(endpointId) ?? 1) - 1;
      if (n > 0) this.perEndpoint.set(endpointId, n);
      else this.perEndpoint.delete(endpointId);
      freed();
    };
  }

  /** An attempt started: in flight until ended(). */
  started(run: Promise<void>): void {
    this.inFlight.add(run);
  }

  ended(run: Promise<void>): void {
    this.inFlight.delete(run);
  }

  /** Settles once every attempt in flight now has finished. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.inFlight]);
  }
}
