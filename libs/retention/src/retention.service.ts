import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { CacheService } from '@chat/cache';
import { recentMessagesCacheKey } from '@chat/chat';
import { Clock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { FileDeletionMarker } from '@chat/files';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { RetainedMessagesRepository, RetainedTombstonesRepository, RetentionPolicyRepository } from './retention.repositories';
import type { RetentionPolicyDoc, RetentionReportDoc, RetentionTenantReport } from './retention.schemas';

const DAY_MS = 86_400_000;

export interface RetentionRunOptions {
  tenantId?: string;
  now?: Date;
  batchSize?: number;
  maxBatches?: number;
}

/**
 * Deletes messages past a tenant's retention period and purges soft-deleted messages after the grace
 * period, in bounded batches, skipping tenants and conversations under legal hold. Their files are
 * marked deleted (quota freed at once, objects removed by the files sweep). Plain queries on
 * created_at / deleted_at (no TTL index: FerretDB has none, and a TTL index could not honour a hold).
 * Also purges deleted users' tombstones (user_tombstones) USER_TOMBSTONE_RETENTION_DAYS after the
 * deletion. A tombstone exists only to carry the deletion's webhook events (user.deleted) until the
 * crash sweeper has had its chance to record them: a sweep reads back at most
 * WEBHOOK_SWEEP_LOOKBACK_SECONDS (plus a 30 s overlap), which the config check keeps well under the
 * retention period, so no sweep can need a tombstone this purge removes. Time comes from the Clock.
 */
@Injectable()
export class RetentionService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly policies: RetentionPolicyRepository,
    private readonly messages: RetainedMessagesRepository,
    private readonly config: AppConfig,
    // Files of deleted messages are marked like those of a message deleted by its sender (the sweep removes them).
    private readonly files: FileDeletionMarker,
    private readonly tombstones: RetainedTombstonesRepository,
    private readonly clock: Clock,
    // The cached newest page of a conversation must not keep serving purged messages.
    @Optional() private readonly cache?: CacheService,
  ) {}

  onModuleInit(): void {
    const every = this.config.RETENTION_INTERVAL_SECONDS;
    if (every > 0) {
      this.timer = setInterval(() => void this.runScheduled(), every * 1000);
      this.timer.unref();
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async runScheduled(): Promise<void> {
    try {
      const r = await this.run();
      if (r && (r.expired_deleted || r.soft_deleted_purged)) this.logger.log(`retention removed ${r.expired_deleted} expired and ${r.soft_deleted_purged} soft-deleted messages`);
    } catch (err) {
      this.logger.warn(`retention run failed: ${(err as Error).message}`);
    }
  }

  async policy(tenantId: string): Promise<Omit<RetentionPolicyDoc, '_id'>> {
    const p = await this.policies.get(tenantId);
    return {
      tenant_id: tenantId,
      retention_days: p?.retention_days ?? null,
      soft_delete_grace_days: p?.soft_delete_grace_days ?? null,
      legal_hold: p?.legal_hold ?? false,
      held_conversations: p?.held_conversations ?? [],
      updated_at: p?.updated_at ?? new Date(0),
    };
  }

  async setPolicy(tenantId: string, input: { retention_days?: number | null; soft_delete_grace_days?: number | null }) {
    for (const [k, v] of Object.entries(input)) {
      if (v !== null && v !== undefined && (!Number.isInteger(v) || v < 0 || v > 36500)) throw AppError.validation([{ field: k, problems: [`${k} must be an integer from 0 to 36500, or null`] }]);
    }
    const $set: Record<string, unknown> = {};
    if (input.retention_days !== undefined) $set.retention_days = input.retention_days;
    if (input.soft_delete_grace_days !== undefined) $set.soft_delete_grace_days = input.soft_delete_grace_days;
    return this.policies.update(tenantId, { $set });
  }

  /** Legal hold on the whole tenant, or on one conversation. */
  async setHold(tenantId: string, hold: boolean, conversationId?: string) {
    if (conversationId) return this.policies.update(tenantId, hold ? { $addToSet: { held_conversations: conversationId } } : { $pull: { held_conversations: conversationId } });
    return this.policies.update(tenantId, { $set: { legal_hold: hold } });
  }

  /** One run over every tenant (or one). Returns null when another node holds the run lock. */
  async run(opts: RetentionRunOptions = {}): Promise<RetentionReportDoc | null> {
    const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
    if (!(await this.policies.lock(holder, 6 * 3600 * 1000))) return null;
    try {
      const now = opts.now ?? new Date(this.clock.now());
      const report: RetentionReportDoc = { _id: randomUUID(), started_at: new Date(), finished_at: new Date(), tenants: [], expired_deleted: 0, soft_deleted_purged: 0, tombstones_purged: 0 };
      const tenants = opts.tenantId ? [opts.tenantId] : await this.policies.tenantIds();
      for (const tenantId of tenants) {
        const t = await this.runTenant(tenantId, now, opts.batchSize ?? this.config.RETENTION_BATCH_SIZE, opts.maxBatches ?? this.config.RETENTION_MAX_BATCHES);
        report.expired_deleted += t.expired_deleted;
        report.soft_deleted_purged += t.soft_deleted_purged;
        report.tombstones_purged += t.tombstones_purged;
        if (t.expired_deleted || t.soft_deleted_purged || t.tombstones_purged || t.legal_hold || t.truncated) report.tenants.push(t);
      }
      report.finished_at = new Date();
      await this.policies.saveReport(report);
      return report;
    } finally {
      await this.policies.unlock(holder);
    }
  }

  private async runTenant(tenantId: string, now: Date, batchSize: number, maxBatches: number): Promise<RetentionTenantReport> {
    const p = await this.policy(tenantId);
    const out: RetentionTenantReport = { tenant_id: tenantId, legal_hold: p.legal_hold, held_conversations: p.held_conversations.length, expired_deleted: 0, soft_deleted_purged: 0, tombstones_purged: 0, batches: 0, truncated: false };
    // A hold suspends every deletion of the tenant, tombstones included.
    if (p.legal_hold) return out;
    const notHeld = p.held_conversations.length ? { conversation_id: { $nin: p.held_conversations } } : {};
    const grace = p.soft_delete_grace_days ?? this.config.RETENTION_SOFT_DELETE_GRACE_DAYS;
    const passes: Array<{ field: 'soft_deleted_purged' | 'expired_deleted'; filter: Record<string, unknown> }> = [
      { field: 'soft_deleted_purged', filter: { ...notHeld, deleted_at: { $lt: new Date(now.getTime() - grace * DAY_MS) } } },
    ];
    if (p.retention_days !== null) passes.push({ field: 'expired_deleted', filter: { ...notHeld, created_at: { $lt: new Date(now.getTime() - p.retention_days * DAY_MS) } } });
    await TenantContext.run({ tenantId: asTenantId(tenantId), actor: { type: 'system', id: 'retention' } }, async () => {
      out.tombstones_purged = await this.tombstones.purgeDeletedBefore(new Date(now.getTime() - this.config.USER_TOMBSTONE_RETENTION_DAYS * DAY_MS));
      for (const pass of passes) {
        for (;;) {
          if (out.batches >= maxBatches) {
            out.truncated = true;
            return;
          }
          const batch = await this.messages.nextBatch(pass.filter, batchSize);
          if (!batch.length) break;
          // Files first: a crash in between leaves expired messages for the next run, never files without their message.
          await this.files.markFilesOfMessages(batch.map((m) => m.id));
          const n = await this.messages.deleteBatch(batch);
          await this.cache?.del(...[...new Set(batch.map((m) => m.conversationId))].map(recentMessagesCacheKey));
          if (!n) break;
          out[pass.field] += n;
          out.batches++;
          if (n < batchSize) break;
        }
      }
    });
    return out;
  }

  latestReports(limit = 10) {
    return this.policies.latestReports(limit);
  }
}
