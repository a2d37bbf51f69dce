import { OutboxSweeper } from '@chat/webhooks';
import { api, asUser, createTenant, userToken } from './support/factories';
import { waitFor } from './support/socket-client';
import { createTestApp } from './support/test-app';
import { restoreClock, useTestClock } from './support/test-clock';
import { WEBHOOK_TEST_ENV } from './support/webhook-receiver';
import { fakeEnvelope } from './chat-messages-helpers';
import { webhooksSuite } from './webhooks-helpers';

/**
 * Webhooks across failures and nodes: events whose outbox rows were lost are recorded by the sweeper;
 * two nodes on one database share the deliveries (lease) and hear each other's endpoints at once.
 */
describe('webhooks against a real receiver on loopback (FerretDB, Redis): lost rows and several nodes', () => {
  const { t, receiver, world, send, endpoint, deliveries } = webhooksSuite();

  it('a message and a conversation whose outbox rows were lost (crash between commit and record) are recorded by the sweeper and delivered', async () => {
    const r = await receiver();
    r.respond = () => 200;
    const tenant = await createTenant(t);
    const ep = await endpoint(t, tenant, r.url, ['message.new', 'conversation.created']);
    // The endpoint exists but this node's cached endpoint list says "none": the fast path records nothing,
    // exactly like a node killed before it wrote the rows.
    const sweeper = t.app.get(OutboxSweeper);
    const outbox = (sweeper as unknown as { outbox: { cache: Map<string, unknown> } }).outbox;
    outbox.cache.set(tenant.tenantId, { at: Date.now() + 60_000, endpoints: [] });
    const w = await world(t, tenant);
    const sent = await send(w);
    expect(await deliveries(tenant, ep.id)).toEqual([]);
    expect(await sweeper.sweep()).toBeGreaterThanOrEqual(2);
    await waitFor(() => r.ofType('message.new').length === 1 && r.ofType('conversation.created').length === 1, 10_000, 'delivered after sweep');
    expect(r.ofType('message.new')[0]!.body.data.message_id).toBe(sent.body.id);
    expect(r.ofType('conversation.created')[0]!.body.data).toEqual({ conversation_id: w.groupId, type: 'group', member_ids: expect.arrayContaining(['alice', 'bob', 'carol']) });
    // A second sweep finds nothing missing for it (other tests' tenants may have work for the sweeper).
    await sweeper.sweep();
    expect(await deliveries(tenant, ep.id)).toHaveLength(2);
    expect(r.received).toHaveLength(2);
  });

  it('two nodes on one database: every attempt is made by one node (lease), no event delivered twice except by a retry', async () => {
    const nodeB = await createTestApp({ dbName: t.dbName, env: WEBHOOK_TEST_ENV });
    try {
      const r = await receiver();
      // Every event fails once, so retries are due on both nodes' scans at the same time.
      const seen = new Set<string>();
      r.respond = (h) => (seen.has(h.id) ? 200 : (seen.add(h.id), 500));
      const w = await world();
      const ep = await endpoint(t, w.tenant, r.url, ['message.new']);
      const onB = asUser(nodeB, await userToken(nodeB, w.tenant, 'bob'));
      for (let i = 0; i < 10; i++) {
        await send(w);
        await onB.post(`/v1/conversations/${w.groupId}/messages`).send({ content: fakeEnvelope(['alice', 'bob', 'carol']) }).expect(201);
      }
      await waitFor(() => r.received.filter((h) => h.body.type === 'message.new').length >= 40, 20_000, 'all retried and delivered');
      await waitFor(async () => (await deliveries(w.tenant, ep.id)).every((d) => d.status === 'delivered'), 10_000, 'recorded');
      const rows = await deliveries(w.tenant, ep.id);
      expect(rows).toHaveLength(20);
      const perId = new Map<string, number>();
      for (const h of r.ofType('message.new')) perId.set(h.id, (perId.get(h.id) ?? 0) + 1);
      // Exactly the documented retry: one 500, one 200, same X-Webhook-Id; never a duplicate attempt.
      expect([...perId.values()].every((n) => n === 2)).toBe(true);
      for (const d of rows.slice(0, 5)) {
        const detail = await api(t, w.tenant).get(`/v1/webhooks/${ep.id}/deliveries/${d.id}`).expect(200);
        expect(detail.body.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 200]);
      }
    } finally {
      await nodeB.close();
    }
  });

  it('an endpoint created through one node hears at once a message sent through another (no propagation window)', async () => {
    const nodeB = await createTestApp({ dbName: t.dbName, env: WEBHOOK_TEST_ENV });
    // B's clock stands still, so whatever B keeps about endpoints stays within any re-check period it has.
    useTestClock(nodeB.app);
    try {
      const r = await receiver();
      r.respond = () => 200;
      const w = await world();
      const onB = asUser(nodeB, await userToken(nodeB, w.tenant, 'bob'));
      const sendOnB = () => onB.post(`/v1/conversations/${w.groupId}/messages`).send({ content: fakeEnvelope(['alice', 'bob', 'carol']) }).expect(201);
      // B records this tenant's events while it has no endpoint: B has looked and found none.
      await sendOnB();
      await endpoint(t, w.tenant, r.url, ['message.new']);
      const sent = await sendOnB();
      await waitFor(() => r.ofType('message.new').some((h) => h.body.data.message_id === sent.body.id), 10_000, 'the message sent through B delivered');
    } finally {
      restoreClock(nodeB.app);
      await nodeB.close();
    }
  });
});
