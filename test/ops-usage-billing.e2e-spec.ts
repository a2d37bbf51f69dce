/* Usage metering, incremental roll-up, tenant usage API and idempotent monthly invoices, against the
 * real FerretDB. Events of "last month" are recorded through the recorder with an explicit time. */
import request from 'supertest';
import { mongo } from 'mongoose';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { UsageRecorder, UsageRollupService } from '@chat/usage';
import { createTestApp, TestApp } from './support/test-app';
import { api, createTenant, TestTenant } from './support/factories';
import { askOk, closeAllSockets, connectSocket, createRealtimeTenant, envelope, nextEvent, waitFor } from './support/socket-client';

function lastMonth(): { period: string; at: Date } {
  const now = new Date();
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15, 12));
  return { period: at.toISOString().slice(0, 7), at };
}

describe('usage metering and billing', () => {
  let t: TestApp;
  let a: TestTenant;
  let b: TestTenant;
  let recorder: UsageRecorder;
  let rollup: UsageRollupService;
  let db: mongo.Db;
  const { period, at } = lastMonth();
  const admin = () => ({ Authorization: `Bearer ${a.adminToken}` });

  beforeAll(async () => {
    t = await createTestApp({ env: { USAGE_FLUSH_SECONDS: '0', USAGE_ROLLUP_INTERVAL_SECONDS: '0', USAGE_ROLLUP_LAG_SECONDS: '0' } });
    a = await createTenant(t, { plan: 'free' });
    b = await createTenant(t, { plan: 'pro' });
    recorder = t.app.get(UsageRecorder);
    rollup = t.app.get(UsageRollupService);
    db = t.app.get<Connection>(getConnectionToken()).db as unknown as mongo.Db;
  });
  afterAll(async () => {
    closeAllSockets();
    await t?.close();
  });

  it('rolls events up into monthly and daily buckets', async () => {
    for (let i = 0; i < 3; i++) recorder.messageSent(a.tenantId, 'alice', 1, at);
    recorder.messageSent(a.tenantId, 'bob', 2, at);
    recorder.apiCall(a.tenantId, 5, at);
    recorder.userActive(a.tenantId, 'carol', at);
    recorder.sample(a.tenantId, 'connections', 7, at);
    recorder.sample(a.tenantId, 'connections', 4, at);
    recorder.sample(a.tenantId, 'storage_bytes', 2 * 1024 ** 3, at);
    recorder.messageSent(b.tenantId, 'zed', 1, at);
    await recorder.flush();
    const r = await rollup.rollup();
    expect(r.events).toBeGreaterThan(0);
    expect(r.metrics).toBe(3);
    const res = await request(t.url).get(`/admin/billing/usage?tenant_id=${a.tenantId}&period=${period}`).set(admin()).expect(200);
    expect(res.body.totals).toEqual({ messages_sent: 5, active_users: 3, peak_connections: 7, storage_bytes: 2 * 1024 ** 3, api_calls: 5 });
    expect(res.body.days).toEqual([{ day: at.toISOString().slice(0, 10), messages_sent: 5, peak_connections: 7, storage_bytes: 2 * 1024 ** 3, api_calls: 5 }]);
  });

  it('is incremental: a second run reads nothing, new events are added once', async () => {
    const again = await rollup.rollup();
    expect(again).toMatchObject({ events: 0, metrics: 0, batches: 0 });
    recorder.messageSent(a.tenantId, 'alice', 4, at);
    recorder.messageSent(a.tenantId, 'dave', 1, at);
    await recorder.flush();
    const next = await rollup.rollup();
    expect(next.events).toBe(2); // one messages_sent counter, one active_users document: nothing older re-read
    const res = await request(t.url).get(`/admin/billing/usage?tenant_id=${a.tenantId}&period=${period}`).set(admin()).expect(200);
    expect(res.body.totals).toMatchObject({ messages_sent: 10, active_users: 4 });
  });

  it('never double counts sources replayed from an older watermark (each is claimed by one batch)', async () => {
    await db.collection('aggregations').updateOne({ _id: 'watermark|events' as never }, { $set: { last_id: new mongo.ObjectId('000000000000000000000000') } });
    await db.collection('aggregations').updateOne({ _id: 'watermark|metrics' as never }, { $set: { last_id: new mongo.ObjectId('000000000000000000000000') } });
    const replay = await rollup.rollup({ batchSize: 2 });
    // It walks every batch again, in other boundaries than the first time, and counts nothing.
    expect(replay.batches).toBeGreaterThan(2);
    expect(replay).toMatchObject({ events: 0, metrics: 0, buckets: 0 });
    const res = await request(t.url).get(`/admin/billing/usage?tenant_id=${a.tenantId}&period=${period}`).set(admin()).expect(200);
    expect(res.body.totals).toEqual({ messages_sent: 10, active_users: 4, peak_connections: 7, storage_bytes: 2 * 1024 ** 3, api_calls: 5 });
  });

  it('a crash between applying a batch and moving the watermark, then new events, then a re-run: every count once', async () => {
    const c = await createTenant(t);
    const aggs = db.collection('aggregations');
    const totals = async () => (await request(t.url).get(`/admin/billing/usage?tenant_id=${c.tenantId}&period=${period}`).set(admin()).expect(200)).body.totals;
    const start = await aggs.findOne({ _id: 'watermark|events' as never });
    recorder.messageSent(c.tenantId, 'erin', 3, at);
    recorder.apiCall(c.tenantId, 2, at);
    recorder.sample(c.tenantId, 'connections', 5, at);
    const first = await rollup.rollup();
    expect(first.buckets).toBeGreaterThan(0);
    expect(await totals()).toEqual({ messages_sent: 3, active_users: 1, peak_connections: 5, storage_bytes: 0, api_calls: 2 });

    // Put the watermark back where a crash right after the buckets (before the watermark moved) leaves
    // it: at the old position, with the batch still pinned (its id is the claim on its events).
    const done = await aggs.findOne({ _id: 'watermark|events' as never });
    const claimed = await db.collection('events').findOne({ _id: { $gt: start!.last_id, $lte: done!.last_id }, tenant_id: c.tenantId });
    expect(claimed!.rolled).toBeInstanceOf(mongo.ObjectId);
    await aggs.updateOne({ _id: 'watermark|events' as never }, { $set: { last_id: start!.last_id, pending_batch: claimed!.rolled, pending_to: done!.last_id, pending_claimed: true } });

    // New events arrive before the re-run: a batch chosen afresh would end later and add the first one again.
    recorder.messageSent(c.tenantId, 'erin', 2, at);
    recorder.messageSent(c.tenantId, 'frank', 1, at);
    recorder.apiCall(c.tenantId, 1, at);
    const rerun = await rollup.rollup();
    expect(rerun.skipped).toBeGreaterThan(0); // the crashed batch's buckets refuse it a second time
    expect(await totals()).toEqual({ messages_sent: 6, active_users: 2, peak_connections: 5, storage_bytes: 0, api_calls: 3 });
    expect(await aggs.findOne({ _id: 'watermark|events' as never })).not.toHaveProperty('pending_batch');

    // A crash after pinning and claiming only part of a batch: the re-run claims the rest and counts it once.
    const mark = await aggs.findOne({ _id: 'watermark|events' as never });
    recorder.messageSent(c.tenantId, 'gina', 4, at);
    recorder.apiCall(c.tenantId, 7, at);
    await recorder.flush();
    const fresh = await db.collection('events').find({ _id: { $gt: mark!.last_id }, tenant_id: c.tenantId }, { sort: { _id: 1 } }).toArray();
    expect(fresh.length).toBeGreaterThan(1);
    const batch = new mongo.ObjectId();
    await aggs.updateOne({ _id: 'watermark|events' as never }, { $set: { pending_batch: batch, pending_to: fresh[fresh.length - 1]._id, pending_claimed: false } });
    await db.collection('events').updateOne({ _id: fresh[0]._id }, { $set: { rolled: batch } });
    const resumed = await rollup.rollup();
    expect(resumed.events).toBeGreaterThanOrEqual(fresh.length);
    expect(await totals()).toEqual({ messages_sent: 10, active_users: 3, peak_connections: 5, storage_bytes: 0, api_calls: 10 });
    // And once more for good measure: nothing left, nothing changes.
    expect(await rollup.rollup()).toMatchObject({ events: 0, metrics: 0, batches: 0 });
    expect(await totals()).toEqual({ messages_sent: 10, active_users: 3, peak_connections: 5, storage_bytes: 0, api_calls: 10 });
  });

  // Two app instances on one database (in one process: on FerretDB, whose updates are not atomic, their runs are serialised).
  it('two nodes rolling up at once count every event once', async () => {
    const c = await createTenant(t);
    const other = await createTestApp({ dbName: t.dbName, env: { USAGE_FLUSH_SECONDS: '0', USAGE_ROLLUP_INTERVAL_SECONDS: '0', USAGE_ROLLUP_LAG_SECONDS: '0' } });
    try {
      const recorder2 = other.app.get(UsageRecorder);
      for (let i = 0; i < 12; i++) {
        recorder.messageSent(c.tenantId, `u${i}`, 1, at);
        await recorder.flush();
        recorder2.messageSent(c.tenantId, `v${i}`, 2, at);
        await recorder2.flush();
      }
      // Small batches, so the two runs interleave over many of them.
      await Promise.all([rollup.rollup({ batchSize: 3 }), other.app.get(UsageRollupService).rollup({ batchSize: 3 })]);
      const res = await request(t.url).get(`/admin/billing/usage?tenant_id=${c.tenantId}&period=${period}`).set(admin()).expect(200);
      expect(res.body.totals).toMatchObject({ messages_sent: 36, active_users: 24 });
      expect(res.body.days).toEqual([expect.objectContaining({ messages_sent: 36 })]);
    } finally {
      await other.close();
    }
  });

  it('counts REST calls of a tenant (and only of that tenant)', async () => {
    const month = new Date().toISOString().slice(0, 7);
    await api(t, b).get(`/v1/usage?period=${month}`).expect(200);
    await api(t, b).get(`/v1/usage?period=${month}`).expect(200);
    await recorder.flush();
    await rollup.rollup();
    const res = await api(t, b).get(`/v1/usage?period=${month}`).expect(200);
    expect(res.body.tenant_id).toBe(b.tenantId);
    expect(res.body.totals.api_calls).toBeGreaterThanOrEqual(2);
    const mineA = await api(t, a).get(`/v1/usage?period=${month}`).expect(200);
    expect(mineA.body.totals.api_calls).toBe(0);
  });

  it('meters real traffic: messages over HTTP and socket.io, active users, peak connections, per tenant', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const r = await createRealtimeTenant(t.app);
    const q = await createRealtimeTenant(t.app);
    const conv = await r.group(['u1', 'u2', 'u3', 'u4']);
    const qconv = await q.group(['q1', 'q2']);
    // Three concurrent connections for r (u3 on two devices), one for q; u1 and u4 never connect.
    const s2 = await connectSocket(t.url, await r.token('u2'));
    const s3 = await connectSocket(t.url, await r.token('u3'));
    const s3b = await connectSocket(t.url, await r.token('u3'));
    const sq = await connectSocket(t.url, await q.token('q1'));
    const u1 = await r.token('u1');
    for (let i = 0; i < 3; i++) {
      await request(t.url).post(`/v1/conversations/${conv}/messages`).set('Authorization', `Bearer ${u1}`).send({ client_msg_id: `h${i}`, content: envelope(['u1', 'u2', 'u3', 'u4']) }).expect(201);
    }
    for (let i = 0; i < 2; i++) await askOk(s2, 'message:send', { conversation_id: conv, client_msg_id: `s${i}`, content: envelope(['u1', 'u2', 'u3', 'u4']) });
    await askOk(sq, 'message:send', { conversation_id: qconv, client_msg_id: 'q', content: envelope(['q1', 'q2']) });
    // Every message has been fanned out (so metered: the same event feeds both).
    await nextEvent(s3, 'message:new', () => true, 10_000, 4);
    await nextEvent(s3b, 'message:new', () => true, 10_000, 4);

    const usageOf = async (tenantId: string) => (await request(t.url).get(`/admin/billing/usage?tenant_id=${tenantId}&period=${month}`).set(admin()).expect(200)).body.totals;
    const rollupNow = () => request(t.url).post('/admin/billing/usage/rollup').set(admin()).expect(200);
    // The connection samples are taken after each connect (a Redis count): wait until the last ones are in.
    await waitFor(
      async () => {
        await rollupNow();
        return (await usageOf(r.tenantId)).peak_connections === 3 && (await usageOf(q.tenantId)).peak_connections === 1;
      },
      15_000,
      'peak connections rolled up',
    );
    await rollupNow();
    // u1: 3 HTTP sends (3 metered API calls, active); u2: 2 socket sends (active); u3: connected (active).
    expect(await usageOf(r.tenantId)).toEqual({ messages_sent: 5, active_users: 3, peak_connections: 3, storage_bytes: 0, api_calls: 3 });
    expect(await usageOf(q.tenantId)).toEqual({ messages_sent: 1, active_users: 1, peak_connections: 1, storage_bytes: 0, api_calls: 0 });
    expect((await usageOf(a.tenantId)).messages_sent).toBe(0);
    closeAllSockets();
  });

  it('tenants see their own usage only; bad input is a 4xx in the error shape', async () => {
    const resA = await api(t, a).get(`/v1/usage?period=${period}`).expect(200);
    expect(resA.body).toMatchObject({ tenant_id: a.tenantId, period, totals: { messages_sent: 10 } });
    const resB = await api(t, b).get(`/v1/usage?period=${period}`).expect(200);
    expect(resB.body).toMatchObject({ tenant_id: b.tenantId, totals: { messages_sent: 1 } });
    expect((await api(t, a).get('/v1/usage?period=2026-13').expect(400)).body.error.code).toBe('validation_failed');
    expect((await api(t, a).get(`/v1/usage?period=${period}&tenant_id=${b.tenantId}`).expect(400)).body.error.code).toBe('validation_failed');
    await request(t.url).get(`/v1/usage?period=${period}`).expect(401);
    const narrow = await createTenant(t, { scopes: ['messages:read'] });
    expect((await api(t, narrow).get(`/v1/usage?period=${period}`).expect(403)).body.error.code).toBe('forbidden');
  });

  it('issues monthly invoices idempotently; JSON and CSV downloads', async () => {
    const first = await request(t.url).post('/admin/billing/invoices').set(admin()).send({ period }).expect(200);
    const idA = `inv_${period}_${a.tenantId}`;
    const idB = `inv_${period}_${b.tenantId}`;
    expect(first.body.created).toEqual(expect.arrayContaining([idA, idB]));
    const before = await request(t.url).get(`/admin/billing/invoices/${idA}`).set(admin()).expect(200);
    expect(before.body).toMatchObject({ id: idA, tenant_id: a.tenantId, period, plan: 'free', currency: 'USD', status: 'issued' });
    expect(before.body.usage.messages_sent).toBe(10);
    expect(before.body.total_cents).toBe(before.body.lines.reduce((s: number, l: { amount_cents: number }) => s + l.amount_cents, 0));
    // The free plan includes 1 GiB: 2 GiB stored is one GiB of overage.
    expect(before.body.lines.find((l: { item: string }) => l.item === 'storage_bytes')).toMatchObject({ billable_units: 1, amount_cents: 25 });

    // More usage arrives late; a second run still changes nothing.
    recorder.messageSent(a.tenantId, 'alice', 1000, at);
    await recorder.flush();
    const second = await request(t.url).post('/admin/billing/invoices').set(admin()).send({ period }).expect(200);
    expect(second.body.created).toEqual([]);
    expect(second.body.existing).toEqual(expect.arrayContaining([idA, idB]));
    const after = await request(t.url).get(`/admin/billing/invoices/${idA}`).set(admin()).expect(200);
    expect(after.body).toEqual(before.body);
    expect(await db.collection('billing').countDocuments({ kind: 'invoice', tenant_id: a.tenantId })).toBe(1);

    const csv = await request(t.url).get(`/admin/billing/invoices/${idA}?format=csv`).set(admin()).expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toContain(`${idA}.csv`);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('invoice_id,tenant_id,tenant_name,period,plan,currency,item,quantity,included,billable_units,unit,unit_price_cents,amount_cents');
    expect(lines[lines.length - 1]).toMatch(new RegExp(`,total,,,,,,${before.body.total_cents}$`));

    const page1 = await request(t.url).get(`/admin/billing/invoices?period=${period}&limit=1`).set(admin()).expect(200);
    expect(page1.body.data).toHaveLength(1);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const page2 = await request(t.url).get(`/admin/billing/invoices?period=${period}&limit=1&cursor=${page1.body.next_cursor}`).set(admin()).expect(200);
    expect(page2.body.data[0].id).not.toBe(page1.body.data[0].id);
  });

  it('refuses open months, unknown and malformed invoices, and non-admins', async () => {
    const month = new Date().toISOString().slice(0, 7);
    expect((await request(t.url).post('/admin/billing/invoices').set(admin()).send({ period: month }).expect(409)).body.error.code).toBe('conflict');
    expect((await request(t.url).post('/admin/billing/invoices').set(admin()).send({ period: 'May' }).expect(400)).body.error.code).toBe('validation_failed');
    await request(t.url).get(`/admin/billing/invoices/inv_${period}_ffffffffffffffffffffffff`).set(admin()).expect(404);
    await request(t.url).get('/admin/billing/invoices/not-an-id').set(admin()).expect(400);
    await request(t.url).get('/admin/billing/invoices').set('X-Api-Key', a.apiKey).expect(401);
  });

  it('lists and changes price lists (owner)', async () => {
    const plans = await request(t.url).get('/admin/billing/plans').set(admin()).expect(200);
    expect(plans.body.data.map((p: { code: string }) => p.code)).toEqual(expect.arrayContaining(['free', 'pro', 'enterprise']));
    const free = plans.body.data.find((p: { code: string }) => p.code === 'free');
    const { code: _c, ...body } = free;
    await request(t.url).put('/admin/billing/plans/free').set(admin()).send({ ...body, base_fee_cents: 100 }).expect(200);
    const again = await request(t.url).get('/admin/billing/plans').set(admin()).expect(200);
    expect(again.body.data.find((p: { code: string }) => p.code === 'free').base_fee_cents).toBe(100);
    await request(t.url).put('/admin/billing/plans/free').set(admin()).send({ ...body, base_fee_cents: -1 }).expect(400);
  });
});
