/** A batch's place in its conversation's order of commit steps. */
export interface Turn {
  /** Resolves when the previous batch of the conversation finished its commit step. */
  ready: Promise<void>;
  /** Ends this batch's turn (idempotent); the next batch's `ready` resolves. */
  done: () => void;
}

/**
 * The order in which batches of one conversation raise their events: the order they reserved their
 * seqs in. A conversation's next batch may reserve (and insert) while the previous one is still being
 * written (MessageWriteBatcher pipelines them), so its events wait for the previous batch's turn.
 */
export class CommitTurns {
  private readonly tails = new Map<string, Promise<void>>();

  /** Takes the next turn of `key`: call it in reservation order, and always end it. */
  take(key: string): Turn {
    const ready = this.tails.get(key) ?? Promise.resolve();
    let finish!: () => void;
    const mine = new Promise<void>((r) => (finish = r));
    this.tails.set(key, mine);
    return {
      ready,
      done: () => {
        finish();
        if (this.tails.get(key) === mine) this.tails.delete(key);
      },
    };
  }
}
