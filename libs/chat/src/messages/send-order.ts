/**
 * Keeps one sender's sends to one conversation in arrival order up to the write queue. Why: a send
 * awaits membership, block and key checks (cache hits or misses, batched loads) before it is queued,
 * and those finish in any order; without a turn per key, messages a client emitted back to back got
 * their seqs in a different order (reversed, on cold caches). Only the checks are serialized, per
 * (tenant, sender, conversation): the durable write of many turns still shares one group commit.
 */
export class SendOrder {
  private readonly tails = new Map<string, Promise<void>>();

  /** Your turn for `key`: await `ready`, then call `release()` once queued (or failed). Idempotent. */
  enter(key: string): { ready: Promise<void>; release: () => void } {
    const ready = this.tails.get(key) ?? Promise.resolve();
    let open!: () => void;
    const mine = new Promise<void>((r) => (open = r));
    const tail = ready.then(() => mine);
    this.tails.set(key, tail);
    let released = false;
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        open();
        // Last in line: nobody waits on this key any more.
        if (this.tails.get(key) === tail) this.tails.delete(key);
      },
    };
  }

  /** Keys with a send in progress (for tests and leak checks). */
  get size(): number {
    return this.tails.size;
  }
}
