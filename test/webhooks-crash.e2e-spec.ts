/* kill -9 of a node between the commit of a message and the delivery of its webhook: the node is the
 * all-in-one entry as its own OS process (it records but never delivers), killed right after the send
 * is answered. A node started afterwards on the same database delivers the event. */
import { fakeEnvelope } from './chat-messages-helpers';
import { webhookCrashSuite } from './support/fault-node';
import { api, asUser, createTenant, userToken } from './support/factories';
import { waitFor } from './support/socket-client';

jest.setTimeout(180_000);

describe('webhooks survive kill -9 between commit and delivery', () => {
  const suite = webhookCrashSuite('msg');
  const r = suite.receiver;

  it('the event is delivered after a restart', async () => {
    await r.start();
    // This node records events but never delivers (dispatcher and sweeper off): whatever it committed
    // must come out of the database after it dies.
    const { t: node, child } = await suite.node();
    const tenant = await createTenant(node);
    await api(node, tenant).post('/v1/webhooks').send({ url: r.url, events: ['message.new'] }).expect(201);
    for (const id of ['alice', 'bob']) await api(node, tenant).put(`/v1/users/${id}`).send({}).expect(201);
    const alice = asUser(node, await userToken(node, tenant, 'alice'));
    const conv = await alice.post('/v1/conversations').send({ type: 'group', name: 'g', member_ids: ['bob'] }).expect(201);
    const sent = await alice.post(`/v1/conversations/${conv.body.id}/messages`).send({ content: fakeEnvelope(['alice', 'bob']) }).expect(201);
    child.child.kill('SIGKILL');
    expect(await child.exited).toBeNull();
    expect(r.received).toEqual([]);

    await suite.restart({ WEBHOOK_SWEEP_INTERVAL_MS: '200' });
    await waitFor(() => r.ofType('message.new').length === 1, 30_000, 'delivered after restart');
    expect(r.ofType('message.new')[0]!.body.data).toMatchObject({ message_id: sent.body.id, conversation_id: conv.body.id, seq: 1 });
  });
});
