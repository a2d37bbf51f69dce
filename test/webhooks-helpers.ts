/* The set-up the webhook suites share (test/webhooks*.e2e-spec.ts, the kill -9 ones aside): one app
 * with the test's webhook settings, loopback receivers stopped after the suite, and a world of users in
 * a group whose messages alice sends over HTTP. */
import { ConversationsService, UsersService } from '@chat/chat';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { fakeEnvelope } from './chat-messages-helpers';
import { api, asUser, Client, createTenant, TestTenant, userToken } from './support/factories';
import { TestApp, testAppPerSuite } from './support/test-app';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

export interface World {
  tenant: TestTenant;
  groupId: string;
  alice: Client;
}

/** Registers the suite's app (WEBHOOK_TEST_ENV, then `env`) and clean-up; returns the app and what the tests build their cases with. */
export function webhooksSuite(env: Record<string, string> = {}) {
  const t = testAppPerSuite({ env: { ...WEBHOOK_TEST_ENV, ...env } });
  const receivers: WebhookReceiver[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
  });
  return {
    t,
    /** A started receiver, stopped after the suite. */
    receiver: async () => {
      const r = await new WebhookReceiver().start();
      receivers.push(r);
      return r;
    },
    /** A tenant with alice, bob, carol in a group; alice sends over HTTP. */
    async world(app: TestApp = t, tenant?: TestTenant): Promise<World> {
      tenant ??= await createTenant(app);
      const groupId = await TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, async () => {
        for (const id of ['alice', 'bob', 'carol']) await app.app.get(UsersService).upsert(id, { profile: { display_name: id } });
        return (await app.app.get(ConversationsService).create('alice', { type: 'group', name: 'team', member_ids: ['bob', 'carol'] })).id;
      });
      return { tenant, groupId, alice: asUser(app, await userToken(app, tenant, 'alice')) };
    },
    send: (w: World, extra: Record<string, unknown> = {}) =>
      w.alice.post(`/v1/conversations/${w.groupId}/messages`).send({ content: fakeEnvelope(['alice', 'bob', 'carol']), ...extra }).expect(201),
    async endpoint(app: TestApp, tenant: TestTenant, url: string, events: string[] = ['*']): Promise<{ id: string; secret: string }> {
      const res = await api(app, tenant).post('/v1/webhooks').send({ url, events, description: 'test receiver' }).expect(201);
      return { id: res.body.id, secret: res.body.secret };
    },
    deliveries: async (tenant: TestTenant, id: string, status?: string) =>
      (await api(t, tenant).get(`/v1/webhooks/${id}/deliveries${status ? `?status=${status}` : ''}`).query({ limit: 100 }).expect(200)).body.data as Array<Record<string, any>>,
  };
}
