/**
 * Typing indicators of one socket: relayed at most once per `throttleMs` per conversation, never
 * stored. Remembers which conversations it announced so a disconnect can say "stopped".
 */
export class TypingThrottle {
  private readonly started = new Map<string, number>();

  constructor(
    private readonly throttleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this start should be relayed (first one, or the throttle interval has passed). */
  start(conversationId: string): boolean {
    const t = this.now();
    const last = this.started.get(conversationId);
    if (last !== undefined && t - last < this.throttleMs) return false;
    if (last === undefined && this.started.size >= 100) return false; // bounded per socket
    this.started.set(conversationId, t);
    return true;
  }

  /** True when a start had been relayed, so a stop is worth relaying. */
  stop(conversationId: string): boolean {
    return this.started.delete(conversationId);
  }

  /** Conversations with a relayed start and no stop yet (cleared). */
  drain(): string[] {
    const ids = [...this.started.keys()];
    this.started.clear();
    return ids;
  }
}
