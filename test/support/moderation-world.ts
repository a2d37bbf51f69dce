/* The set-up the moderation suites share (test/moderation-conversations and -bans-system): one app whose
 * webhooks go to a loopback receiver, sockets closed and the real clock back after each test, and a
 * world of end users in one conversation of a fresh tenant. */
import { ConversationsService, UsersService } from '@chat/chat';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { api, asUser, Client, createTenant, TestTenant, userToken } from './factories';
import { closeAllSockets } from './socket-client';
import { createTestApp, TestApp } from './test-app';
import { restoreClock } from './test-clock';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './webhook-receiver';

export interface ModerationSuite {
  t: TestApp;
  receiver: WebhookReceiver;
}

/** Registers the suite's hooks; the returned object holds the app and the receiver once beforeAll has run. */
export function moderationSuite(): ModerationSuite {
  const suite = {} as ModerationSuite;
  beforeAll(async () => {
    suite.t = await createTestApp({ env: WEBHOOK_TEST_ENV });
    suite.receiver = await new WebhookReceiver().start();
  });
  afterEach(() => {
    closeAllSockets();
    if (suite.t) restoreClock(suite.t.app);
  });
  afterAll(async () => {
    await suite.receiver?.stop();
    await suite.t?.close();
  });
  return suite;
}

/**
 * Creates the users (display name: their id) in the tenant and a conversation of the first with the
 * others as members, straight through the services (these suites test moderation, not creation).
 */
export function seedConversation(t: TestApp, tenant: TestTenant, users: string[], type: 'group' | 'channel' = 'group'): Promise<string> {
  const [owner, ...members] = users;
  return TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, async () => {
    for (const id of users) await t.app.get(UsersService).upsert(id, { profile: { display_name: id } });
    return (await t.app.get(ConversationsService).create(owner!, { type, name: 'team', member_ids: members })).id;
  });
}

export interface ModerationWorld {
  tenant: TestTenant;
  convId: string;
  /** owner */
  alice: Client;
  /** member */
  bob: Client;
  bobToken: string;
  /** member */
  carol: Client;
  key: Client;
}

/** A fresh tenant; alice owns a conversation with bob and carol; a REST client for each and for the API key. */
export async function moderationWorld(t: TestApp, type: 'group' | 'channel' = 'group'): Promise<ModerationWorld> {
  const tenant = await createTenant(t);
  const convId = await seedConversation(t, tenant, ['alice', 'bob', 'carol'], type);
  const bobToken = await userToken(t, tenant, 'bob');
  return {
    tenant,
    convId,
    alice: asUser(t, await userToken(t, tenant, 'alice')),
    bob: asUser(t, bobToken),
    bobToken,
    carol: asUser(t, await userToken(t, tenant, 'carol')),
    key: api(t, tenant),
  };
}
