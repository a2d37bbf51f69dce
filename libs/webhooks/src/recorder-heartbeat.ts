import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { Clock } from '@chat/clock';
import { FastPathWatermark } from './fast-path-watermark';
import { RecorderDoc, RecordersRepository } from './recorders.repository';

/** A change's time is set before its write commits and its event is raised, by at most this much (the sweeper's overlap). */
export const OVERLAP_MS = 30_000;
/** Heartbeats at least this often; a recorder is dead once it missed EXPIRY_BEATS of its own. */
const MAX_BEAT_MS = 10_000;
const EXPIRY_BEATS = 3;

/**
 * This process's entry in `webhook_recorders` (RecordersRepository): registered before the process
 * serves, beaten every sweep interval (at most 10 s) with what the fast path vouches for, deleted at a
 * clean shutdown once every raised change is recorded. A process killed (or stalled) leaves its entry
 * to expire; the sweeper of any node then covers the window it could not vouch for.
 */
@Injectable()
export class RecorderHeartbeat implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookRecorder');
  readonly id = randomUUID();
  private timer?: NodeJS.Timeout;
  private readonly beatMs: number;
  /** Processes without the fast path: where their own sweeps have covered their writes up to (Clock ms). */
  private selfCovered: number;

  constructor(
    config: AppConfig,
    private readonly repo: RecordersRepository,
    private readonly watermark: FastPathWatermark,
    private readonly clock: Clock,
  ) {
    this.beatMs = Math.min(config.WEBHOOK_SWEEP_INTERVAL_MS || MAX_BEAT_MS, MAX_BEAT_MS);
    this.selfCovered = clock.now();
  }

  async onApplicationBootstrap(): Promise<void> {
    // Registered before the process serves: a change it makes is always under a record. If the database
    // refuses it now it refuses the changes too; the next heartbeat registers it.
    await this.beatOrWarn();
    this.timer = setInterval(() => void this.beatOrWarn(), this.beatMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // A clean stop with nothing unrecorded needs no sweep; otherwise the entry expires and is swept.
    await this.watermark.idle(5000);
    if (this.watermark.recordsEvents && this.watermark.clean()) await this.repo.remove(this.id).catch(() => undefined);
  }

  /** A sweep by this process covered its own writes up to `to` (Clock ms). */
  covered(to: number): void {
    this.selfCovered = Math.max(this.selfCovered, to);
    this.watermark.coveredUpTo(to);
  }

  private beatOrWarn(): Promise<void> {
    return this.beat().catch((err: Error) => this.logger.warn(`webhook recorder heartbeat failed: ${err.message}`));
  }

  beat(): Promise<void> {
    const now = this.clock.now();
    const safeBefore = this.watermark.recordsEvents ? this.watermark.safeBefore(OVERLAP_MS) : new Date(this.selfCovered - OVERLAP_MS);
    return this.repo.beat({ _id: this.id, vouches: this.watermark.recordsEvents, safe_before: safeBefore, beat_at: new Date(now), expires_at: new Date(now + EXPIRY_BEATS * this.beatMs) });
  }

  /** The other recorders: live ones, and dead ones (expired) whose windows need a sweep. */
  async others(): Promise<{ live: RecorderDoc[]; dead: RecorderDoc[] }> {
    const now = this.clock.now();
    const all = (await this.repo.all()).filter((r) => r._id !== this.id);
    return { live: all.filter((r) => new Date(r.expires_at).getTime() >= now), dead: all.filter((r) => new Date(r.expires_at).getTime() < now) };
  }

  /** A dead recorder's window was swept: its entry goes, unless it beat meanwhile (it was stalled, not dead). */
  forget(r: RecorderDoc): Promise<void> {
    return this.repo.remove(r._id, r.beat_at);
  }
}
