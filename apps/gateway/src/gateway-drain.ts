import { Injectable } from '@nestjs/common';
import type { Server } from 'socket.io';
import { AppConfig } from '@chat/config';
import { PresenceTracker } from '@chat/realtime';

/**
 * Graceful shutdown of the gateway, and the bookkeeping it needs: client events in flight and
 * background work (disconnect clean-ups, presence fan-outs). Draining refuses new handshakes and
 * writes, lets in-flight events finish (bounded by SHUTDOWN_GRACE_MS), then closes every socket's
 * transport, which socket.io clients treat as a lost connection: they reconnect (through the load
 * balancer, to another node) and sync.
 */
@Injectable()
export class GatewayDrain {
  private isDraining = false;
  private drainPromise?: Promise<void>;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** Disconnect clean-ups and presence fan-outs still running (awaited by the drain). */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly config: AppConfig,
    private readonly presence: PresenceTracker,
  ) {}

  get draining(): boolean {
    return this.isDraining;
  }

  /** Client events being handled right now on this node. */
  get inFlightEvents(): number {
    return this.inFlight;
  }

  eventStarted(): void {
    this.inFlight++;
  }

  eventEnded(): void {
    if (--this.inFlight === 0) this.idleWaiters.splice(0).forEach((r) => r());
  }

  /** Background work the drain waits for. */
  track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  drain(server: Server | undefined): Promise<void> {
    this.drainPromise ??= this.doDrain(server);
    return this.drainPromise;
  }

  private async doDrain(server: Server | undefined): Promise<void> {
    this.isDraining = true;
    const grace = this.config.SHUTDOWN_GRACE_MS;
    if (server) {
      // Refuse new handshakes at the HTTP level too, so clients retry with backoff.
      (server.engine.opts as { allowRequest?: (req: unknown, cb: (err: string | null | undefined, ok: boolean) => void) => void }).allowRequest = (_req, cb) => cb('draining', false);
      await this.waitIdle(grace);
      for (const s of server.of('/').sockets.values()) s.conn.close();
      await this.settlePending(grace);
    }
    await this.presence.stop({ clean: true });
    await this.settlePending(grace);
  }

  private async settlePending(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    // Settling one may start another (a disconnect starts a presence fan-out): loop until quiet.
    while (this.pending.size && Date.now() < end) {
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => setTimeout(r, Math.max(1, end - Date.now())).unref())]);
    }
  }

  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
  }
}
