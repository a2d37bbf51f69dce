/** The turn of a send that arrived first: nothing to wait for (one shared promise, none made per send). */
const NOW: Promise<void> = Promise.resolve();

/** A turn that arrived while its key was held; `releasedEarly`: given up before its turn came. */
interface Waiter {
  open: () => void;
  holding: boolean;
  releasedEarly: boolean;
}

/**
 * Keeps one sender's sends to one conversation in arrival order up to the write queue. Why: a send
 * awaits membership, block and key checks (cache hits or misses, batched loads) before it is queued,
 * and those finish in any order; without a turn per key, messages a client emitted back to back got
 * their seqs in a different order (reversed, on cold caches). Only the checks are serialized, per
 * (tenant, sender, conversation): the durable write of many turns still shares one group commit.
 * A key nobody holds costs no promise (`waits` false): most sends never wait, and on Node 20 every
 * promise runs AsyncLocalStorage's hooks.
 */
export class SendOrder {
  /** Per held key, the turns waiting behind its holder, in arrival order. */
  private readonly lines = new Map<string, Waiter[]>();

  /**
   * Your turn for `key`: when `waits`, await `ready` (it is resolved otherwise), then call `release()`
   * once queued (or failed). Idempotent.
   */
  enter(key: string): { ready: Promise<void>; waits: boolean; release: () => void } {
    const line = this.lines.get(key);
    if (!line) {
      const mine: Waiter[] = [];
      this.lines.set(key, mine);
      let released = false;
      return {
        ready: NOW,
        waits: false,
        release: () => {
          if (released) return;
          released = true;
          this.pass(key, mine);
        },
      };
    }
    let open!: () => void;
    const ready = new Promise<void>((r) => (open = r));
    const me: Waiter = { open, holding: false, releasedEarly: false };
    line.push(me);
    let released = false;
    return {
      ready,
      waits: true,
      release: () => {
        if (released) return;
        released = true;
        // Given up while waiting (e.g. its check threw): it passes its turn on when the turn comes.
        if (!me.holding) me.releasedEarly = true;
        else this.pass(key, line);
      },
    };
  }

  /** The holder of `key` is done: the next waiting turn goes (turns given up early pass at once). */
  private pass(key: string, line: Waiter[]): void {
    for (;;) {
      const next = line.shift();
      if (!next) {
        // Last in line: nobody waits on this key any more.
        if (this.lines.get(key) === line) this.lines.delete(key);
        return;
      }
      next.open();
      if (!next.releasedEarly) {
        next.holding = true;
        return;
      }
    }
  }

  /** Keys with a send in progress (for tests and leak checks). */
  get size(): number {
    return this.lines.size;
  }
}
