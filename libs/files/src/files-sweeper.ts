import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { TenantContext, asTenantId } from '@chat/tenancy';
import { FilePurgeQueue, FilesRepository } from './files.repository';
import { S3StorageService } from './s3-storage.service';

export interface SweepResult {
  removed: number;
  skipped: number;
  failed: number;
}

/** How long a claimed entry stays with the node working on it before another node may retry it. */
const CLAIM_HOLD_MS = 120_000;

/**
 * Removes from the bucket the objects of deleted files and of uploads never confirmed, once their
 * grace period is over. Each run handles at most FILES_SWEEP_BATCH entries (bounded work); entries are
 * claimed with a conditional update, so several nodes sweep safely; a failed removal is retried later.
 */
@Injectable()
export class FilesSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('FilesSweeper');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepResult> | null = null;

  constructor(
    private readonly queue: FilePurgeQueue,
    private readonly files: FilesRepository,
    private readonly s3: S3StorageService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.FILES_SWEEP_INTERVAL_SECONDS;
    if (every <= 0) return;
    this.timer = setInterval(() => void this.sweepOnce().catch((err) => this.logger.error(`sweep failed: ${(err as Error).message}`)), every * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One bounded pass; concurrent calls on one node share the pass in progress. */
  sweepOnce(opts: { now?: Date; limit?: number } = {}): Promise<SweepResult> {
    if (!this.running) {
      this.running = this.pass(opts.now ?? new Date(), opts.limit ?? this.config.FILES_SWEEP_BATCH).finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async pass(now: Date, limit: number): Promise<SweepResult> {
    const result: SweepResult = { removed: 0, skipped: 0, failed: 0 };
    for (let i = 0; i < limit; i++) {
      const entry = await this.queue.claimNext(now, CLAIM_HOLD_MS);
      if (!entry) break;
      try {
        const removed = await TenantContext.run({ tenantId: asTenantId(entry.tenant_id), actor: { type: 'system', id: 'files-sweeper' } }, async () => {
          if (entry.reason === 'abandoned') {
            // Only a file still pending is abandoned; a confirmed one keeps its object.
            const marked = await this.files.markDeleted(entry.file_id, now, ['pending']);
            if (!marked) {
              const current = await this.files.get(entry.file_id);
              if (current && current.status !== 'deleted') return false;
            }
          }
          await this.s3.remove(entry.key);
          await this.files.markPurged(entry.file_id, new Date());
          return true;
        });
        await this.queue.done(entry._id);
        if (removed) result.removed++;
        else result.skipped++;
      } catch (err) {
        result.failed++;
        this.logger.warn(`removing ${entry.key} failed (attempt ${entry.attempts + 1}): ${(err as Error).message}`);
        await this.queue.retryLater(entry._id, entry.attempts, now).catch(() => undefined);
      }
    }
    return result;
  }
}
