/* A tenant's retention policy keeps every change made to it, whatever other change ran beside. On
 * FerretDB a single-document update is read, changed in Go and written back whole, so of two legal holds
 * placed at once on two conversations one could be lost (and the retention run then deletes the messages
 * of a conversation under legal hold), or a hold could undo a concurrent change of the retention period.
 * Driven through RetentionService, what the CLI's `ops retention hold|set` commands call (the
 * ops-retention suite does the same). */
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { RetentionService } from '@chat/retention';
import { createTestApp, TestApp } from './support/test-app';
import { createTenant } from './support/factories';

describe('retention policy under concurrent changes (FerretDB)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RETENTION_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => t?.close());

  it('holds placed at once on different conversations, beside a change of the period: all kept', async () => {
    const { tenantId } = await createTenant(t);
    const svc = t.app.get(RetentionService);
    await svc.setPolicy(tenantId, { retention_days: 365 });
    const lost: string[] = [];
    for (let i = 0; i < 30; i++) {
      await Promise.all([svc.setHold(tenantId, true, `a${i}`), svc.setHold(tenantId, true, `b${i}`), svc.setPolicy(tenantId, { retention_days: 100 + i })]);
      const p = await svc.policy(tenantId);
      const missing = [`a${i}`, `b${i}`].filter((c) => !p.held_conversations.includes(c));
      if (missing.length || p.retention_days !== 100 + i) lost.push(`round ${i}: holds missing ${missing.join(',') || 'none'}, retention_days ${p.retention_days}`);
    }
    expect(lost).toEqual([]);
  }, 120_000);

  it('two runs at once after a crashed run left its lock: never both at once', async () => {
    const { tenantId } = await createTenant(t);
    const svc = t.app.get(RetentionService);
    const reports = t.app.get<Connection>(getConnectionToken()).db!.collection<{ _id: string; holder: string; started_at: Date }>('retention_reports');
    const both: number[] = [];
    for (let i = 0; i < 20; i++) {
      // The lock of a run that died 7 hours ago (older than the 6-hour take-over age).
      await reports.deleteOne({ _id: 'lock' });
      await reports.insertOne({ _id: 'lock', holder: 'crashed', started_at: new Date(Date.now() - 7 * 3_600_000) });
      const [a, b] = await Promise.all([svc.run({ tenantId }), svc.run({ tenantId })]);
      // Both may run one after the other (the second asked once the first had let go); never at once.
      if (a && b && a.started_at < b.finished_at && b.started_at < a.finished_at) both.push(i);
    }
    expect(both).toEqual([]);
  }, 120_000);
});
