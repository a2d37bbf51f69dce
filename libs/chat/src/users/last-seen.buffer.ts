import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { TenantContext, TenantId } from '@chat/tenancy';
import { UsersRepository } from './users.repository';

/** Beyond this many pending users a flush starts at once (memory stays bounded). */
const MAX_PENDING = 20_000;
/** Users written per repository call. */
const FLUSH_CHUNK = 500;

/**
 * `users.last_seen` off the disconnect path. Every offline presence change used to write the user
 * document at once (a locked update; a scan of the users collection on FerretDB), so a reconnect storm
 * became a write storm. Here times are coalesced in memory per tenant (the latest per user) and written
 * in batches every LAST_SEEN_FLUSH_MS and on shutdown. Presence events carry last_seen at once anyway;
 * this node's reads see a pending time through `pending` (another node's reads see it after its next
 * flush). A crash loses at most one window of times, which presence in Redis still holds.
 */
@Injectable()
export class LastSeenBuffer implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('LastSeen');
  private buffer = new Map<TenantId, Map<string, Date>>();
  /** Being written right now: still served by `pending` until the write is done. */
  private writing = new Map<TenantId, Map<string, Date>>();
  private size = 0;
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private written: (externalIds: string[]) => Promise<void> = async () => undefined;

  constructor(
    private readonly repo: UsersRepository,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const every = this.config.LAST_SEEN_FLUSH_MS;
    if (every > 0) {
      this.timer = setInterval(() => void this.flush(), every);
      this.timer.unref();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // Runs after every module's onModuleDestroy, so the gateway's last offline changes are in.
    await this.flush();
  }

  /** Runs (inside the tenant's context) after a batch is written: UsersService drops the cached views. */
  onWritten(hook: (externalIds: string[]) => Promise<void>): void {
    this.written = hook;
  }

  /** Records that the users were last seen at `at` (kept if later than what is pending). With no flush interval, writes at once. */
  async record(tenantId: TenantId, externalIds: string[], at: Date): Promise<void> {
    if (!externalIds.length) return;
    if (this.config.LAST_SEEN_FLUSH_MS === 0) {
      return TenantContext.run({ tenantId }, async () => {
        await this.repo.setLastSeen(externalIds.map((id) => [id, at]));
        await this.written(externalIds);
      });
    }
    for (const id of externalIds) this.keep(tenantId, id, at);
    if (this.size >= MAX_PENDING) void this.flush();
  }

  private keep(tenantId: TenantId, externalId: string, at: Date): void {
    let users = this.buffer.get(tenantId);
    if (!users) this.buffer.set(tenantId, (users = new Map()));
    const prev = users.get(externalId);
    if (!prev) this.size++;
    if (!prev || prev < at) users.set(externalId, at);
  }

  /** The time not yet written for this user, if any (reads overlay it). */
  pending(tenantId: TenantId, externalId: string): Date | undefined {
    const a = this.buffer.get(tenantId)?.get(externalId);
    const b = this.writing.get(tenantId)?.get(externalId);
    return a && b ? (a > b ? a : b) : (a ?? b);
  }

  /** Writes everything pending; concurrent calls queue behind the running one. Never throws. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (!this.size) return;
    this.writing = this.buffer;
    this.buffer = new Map();
    this.size = 0;
    for (const [tenantId, users] of this.writing) {
      const entries = [...users];
      for (let i = 0; i < entries.length; i += FLUSH_CHUNK) {
        const chunk = entries.slice(i, i + FLUSH_CHUNK);
        try {
          await TenantContext.run({ tenantId }, async () => {
            await this.repo.setLastSeen(chunk);
            await this.written(chunk.map(([id]) => id));
          });
        } catch (err) {
          // Kept for the next flush (a later time recorded meanwhile wins): the database may be back by then.
          this.logger.warn(`writing last_seen of ${chunk.length} users failed: ${(err as Error).message}`);
          for (const [id, at] of chunk) this.keep(tenantId, id, at);
        }
      }
    }
    this.writing = new Map();
  }
}
