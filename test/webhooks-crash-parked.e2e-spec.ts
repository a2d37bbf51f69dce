/* kill -9 of the node that parked a failing endpoint's rows (issue 14): node A is the all-in-one entry
 * as its own OS process, delivering, with its real clock; its receiver fails, its circuit opens, the
 * rows sent meanwhile are parked under A's leased record of the endpoint. A dies by SIGKILL: nothing of
 * it stops gracefully, its record stays with the lease it last wrote. Node B (an app in this process,
 * its Clock held by the test) takes the endpoint over once that lease ran out on B's clock and delivers
 * every row once. No clock crosses processes: B's clock is set from the lease A wrote. */
import { getConnectionToken } from '@nestjs/mongoose';
import { Connection } from 'mongoose';
import { ParkedRowsRepository, WebhookDispatcher } from '@chat/webhooks';
import { fakeEnvelope } from './chat-messages-helpers';
import { api, asUser, createTenant, userToken } from './support/factories';
import { webhookCrashSuite } from './support/fault-node';
import { waitFor } from './support/socket-client';
import { useTestClock } from './support/test-clock';

jest.setTimeout(240_000);

const FIRST = 10;
const PARKED = 100;

interface RecordDoc {
  _id: string;
  endpoint_id: string;
  node: string;
  lease_until: Date;
}

describe('webhooks: parked rows survive kill -9 of the node that parked them', () => {
  const suite = webhookCrashSuite('park');
  const r = suite.receiver;

  it('another node takes the endpoint over after the lease and delivers each parked row once', async () => {
    await r.start();
    const delivered: string[] = [];
    let failing = true;
    r.respond = (h) => (failing ? 500 : (delivered.push(h.id), 200));
    // A delivers (its own scans) with retries and probes a minute apart: once its circuit is open no
    // probe comes for at least 30 s (the upper half of the backoff), so every row sent meanwhile is parked.
    const { t: a, child } = await suite.node({ WEBHOOK_DISPATCH_INTERVAL_MS: '100', WEBHOOK_BACKOFF_BASE_MS: '60000', WEBHOOK_BACKOFF_MAX_MS: '60000' });
    // B beside it, its clock standing still at its start: it takes nothing over while A lives.
    const b = await suite.restart();
    const clock = useTestClock(b.app);
    const repo = b.app.get(ParkedRowsRepository);
    const db = b.app.get<Connection>(getConnectionToken()).db!;
    const records = db.collection<RecordDoc>('webhook_parked_endpoints');
    const pending = db.collection<{ endpoint_id: string }>('webhook_pending');

    const tenant = await createTenant(a);
    const ep = (await api(a, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.new'] }).expect(201)).body as { id: string };
    const alice = asUser(a, await userToken(a, tenant, 'alice'));
    await userToken(a, tenant, 'bob');
    const conv = (await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob'] }).expect(201)).body as { id: string };
    const send = () => alice.post(`/v1/conversations/${conv.id}/messages`).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);

    // Enough failures to open A's circuit: A writes its record of the endpoint, and with it the buckets its
    // rows recorded now go into (the slot their retry windows end in and the next one). A row recorded
    // before both are stored is not parked: it waits on A for a probe, not due for half a minute here.
    for (let i = 0; i < FIRST; i++) await send();
    const buckets = db.collection<{ endpoint_id: string }>('webhook_parked_buckets');
    await waitFor(
      async () => (await records.countDocuments({ endpoint_id: ep.id })) === 1 && (await buckets.countDocuments({ endpoint_id: ep.id })) >= 2,
      30_000,
      "A's record of the endpoint and its buckets",
    );
    const [record] = await records.find({ endpoint_id: ep.id }).toArray();
    for (let i = 0; i < PARKED; i++) await send();
    // Rows are inserted parked (with A's failed rows whose retries were written while the circuit was open).
    await waitFor(async () => (await pending.countDocuments({ endpoint_id: ep.id })) === FIRST + PARKED, 30_000, 'the rows recorded on A');
    expect((await repo.parkedIds(ep.id, 10_000)).length).toBeGreaterThanOrEqual(PARKED);
    expect(await records.find({ endpoint_id: ep.id }).toArray()).toEqual([expect.objectContaining({ _id: record!._id, node: record!.node })]);
    const failedBefore = r.received.length;
    expect(failedBefore).toBeGreaterThanOrEqual(5);

    child.child.kill('SIGKILL');
    expect(await child.exited).toBeNull();
    failing = false;
    // The lease A wrote last (renewed until it died) runs out on B's clock; B's scans take the endpoint over.
    const [last] = await records.find({ endpoint_id: ep.id }).toArray();
    expect(last!.node).toBe(record!.node);
    clock.set(new Date(last!.lease_until).getTime());
    const dispatcher = b.app.get(WebhookDispatcher);
    // A's failed rows wait for their retries (up to a minute on); the parked ones for B's probe and drain.
    await waitFor(
      async () => {
        clock.advance(1000);
        await dispatcher.runOnce();
        return new Set(delivered).size >= FIRST + PARKED;
      },
      120_000,
      'every event delivered by B',
    );

    const perId = new Map<string, number>();
    for (const id of delivered) perId.set(id, (perId.get(id) ?? 0) + 1);
    expect(perId.size).toBe(FIRST + PARKED);
    expect([...perId.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    // Every message's event, none other: the ids A failed to deliver are among them.
    expect(new Set(r.received.slice(0, failedBefore).map((h) => h.id)).size).toBeLessThanOrEqual(FIRST);
    for (const h of r.received.slice(0, failedBefore)) expect(perId.has(h.id)).toBe(true);
    expect(await repo.parkedIds(ep.id, 10)).toEqual([]);
    // A's record went with the takeover; B's own goes once its drain found nothing left.
    await waitFor(
      async () => {
        clock.advance(1000);
        await dispatcher.runOnce();
        return (await records.countDocuments({ endpoint_id: ep.id })) === 0;
      },
      30_000,
      'no record of the endpoint left',
    );
  });
});
