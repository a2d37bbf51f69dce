/* Retention against the real FerretDB: expiry after N days, purge of soft-deleted messages after the
 * grace period, legal hold per tenant and per conversation, bounded batches, the report. Messages are
 * inserted directly (fixtures of every age), the job runs through RetentionService. */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { mongo } from 'mongoose';
import { CacheService } from '@chat/cache';
import { recentMessagesCacheKey } from '@chat/chat';
import { RetentionService } from '@chat/retention';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { createTestApp, TestApp } from './support/test-app';
import { createTenant, TestTenant } from './support/factories';

const DAY = 86_400_000;

describe('retention and legal hold', () => {
  let t: TestApp;
  let a: TestTenant;
  let b: TestTenant;
  let svc: RetentionService;
  let messages: mongo.Collection;
  const now = new Date();
  let seq = 0;

  function msg(tenant: string, conv: string, ageDays: number, deletedDaysAgo: number | null = null) {
    seq++;
    return {
      tenant_id: tenant,
      conversation_id: conv,
      seq,
      sender_id: 'u1',
      client_msg_id: `m${seq}`,
      content: null,
      created_at: new Date(now.getTime() - ageDays * DAY),
      updated_at: new Date(now.getTime() - ageDays * DAY),
      deleted_at: deletedDaysAgo === null ? null : new Date(now.getTime() - deletedDaysAgo * DAY),
    };
  }
  const count = (f: mongo.Filter<mongo.Document>) => messages.countDocuments(f);

  beforeAll(async () => {
    t = await createTestApp({ env: { RETENTION_INTERVAL_SECONDS: '0' } });
    a = await createTenant(t);
    b = await createTenant(t);
    svc = t.app.get(RetentionService);
    messages = (t.app.get<Connection>(getConnectionToken()).db as unknown as mongo.Db).collection('messages');
    await messages.insertMany([
      msg(a.tenantId, 'c1', 40), msg(a.tenantId, 'c1', 35), msg(a.tenantId, 'c1', 31), msg(a.tenantId, 'c1', 5),
      msg(a.tenantId, 'held', 60), msg(a.tenantId, 'held', 50, 45),
      msg(a.tenantId, 'c1', 20, 10), // soft-deleted 10 days ago: still in its grace period
      msg(b.tenantId, 'c9', 400), msg(b.tenantId, 'c9', 100, 40), msg(b.tenantId, 'c9', 10, 1),
    ]);
  });
  afterAll(async () => t?.close());

  it('deletes expired and purges old soft-deleted messages in bounded batches, honouring a conversation hold', async () => {
    await svc.setPolicy(a.tenantId, { retention_days: 30, soft_delete_grace_days: 7 });
    await svc.setHold(a.tenantId, true, 'held');
    // A cached newest page of c1 (what history serves) must not outlive the purge.
    const cache = t.app.get(CacheService);
    const cached = (loader: () => Promise<string>) =>
      TenantContext.run({ tenantId: asTenantId(a.tenantId) }, () => cache.getOrLoad(recentMessagesCacheKey('c1'), 300, loader));
    await cached(async () => 'before purge');
    // One batch of 2 per run: the first run stops early and says so.
    const first = await svc.run({ tenantId: a.tenantId, batchSize: 2, maxBatches: 1 });
    expect(first!.tenants[0]).toMatchObject({ tenant_id: a.tenantId, truncated: true, batches: 1 });
    const rest = await svc.run({ tenantId: a.tenantId, batchSize: 2, maxBatches: 10 });
    const removed = first!.expired_deleted + first!.soft_deleted_purged + rest!.expired_deleted + rest!.soft_deleted_purged;
    // c1: 40, 35, 31 days old expire; the one soft-deleted 10 days ago is past the 7-day grace.
    expect(removed).toBe(4);
    expect(await cached(async () => 'reloaded')).toBe('reloaded');
    expect(await count({ tenant_id: a.tenantId, conversation_id: 'c1' })).toBe(1);
    expect(await count({ tenant_id: a.tenantId, conversation_id: 'held' })).toBe(2);
    const reports = await svc.latestReports(2);
    expect(reports[0]._id).toBe(rest!._id);
  });

  it('a tenant without a retention period keeps old messages; only long soft-deleted ones go (default grace)', async () => {
    const r = await svc.run({ tenantId: b.tenantId });
    expect(r!.tenants[0]).toMatchObject({ expired_deleted: 0, soft_deleted_purged: 1 });
    expect(await count({ tenant_id: b.tenantId })).toBe(2);
  });

  it('a tenant-wide legal hold suspends every deletion until released', async () => {
    await messages.insertOne(msg(a.tenantId, 'c1', 90));
    await svc.setHold(a.tenantId, true);
    const held = await svc.run({ tenantId: a.tenantId });
    expect(held!.tenants[0]).toMatchObject({ legal_hold: true, expired_deleted: 0, soft_deleted_purged: 0 });
    expect(await count({ tenant_id: a.tenantId, conversation_id: 'c1' })).toBe(2);
    await svc.setHold(a.tenantId, false);
    await svc.setHold(a.tenantId, false, 'held');
    const released = await svc.run({ tenantId: a.tenantId });
    // The 90-day one and both old messages of the released conversation (one of them soft-deleted).
    expect(released!).toMatchObject({ expired_deleted: 2, soft_deleted_purged: 1 });
    expect(await count({ tenant_id: a.tenantId })).toBe(1);
    expect(await count({ tenant_id: b.tenantId })).toBe(2); // never touched by A's runs
  });

  it('runs one at a time (lock) and rejects bad settings', async () => {
    const [x, y] = await Promise.all([svc.run({ tenantId: b.tenantId }), svc.run({ tenantId: b.tenantId })]);
    expect([x, y].filter((r) => r === null)).toHaveLength(1);
    await expect(svc.setPolicy(a.tenantId, { retention_days: -1 })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
