/* The set-up the messages-over-HTTP suites share (test/chat-messages*.e2e-spec.ts): a fresh tenant with
 * users and conversations made through the chat services (their own suites test those routes), and a
 * REST client per user; everything about messages then goes over HTTP. */
import { ConversationsService, UsersService } from '@chat/chat';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { asUser, Client, createTenant, TestTenant, userToken } from './factories';
import type { TestApp } from './test-app';

export interface MessagesWorld {
  tenant: TestTenant;
  groupId: string;
  directId: string;
  alice: Client;
  bob: Client;
  carol: Client;
  dave: Client; // a user of the tenant in no conversation
  all: string[]; // group members
}

export const inTenant = <T>(tenant: TestTenant, fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId(tenant.tenantId) }, fn);

/** A tenant with alice (owner), bob and carol in a group, and a direct conversation alice-bob. */
export async function messagesWorld(t: TestApp): Promise<MessagesWorld> {
  const tenant = await createTenant(t);
  const users = t.app.get(UsersService);
  const conversations = t.app.get(ConversationsService);
  const { groupId, directId } = await inTenant(tenant, async () => {
    for (const id of ['alice', 'bob', 'carol', 'dave']) await users.upsert(id, { profile: { display_name: id } });
    const group = await conversations.create('alice', { type: 'group', name: 'team', member_ids: ['bob', 'carol'] });
    const direct = await conversations.openDirect('alice', 'bob');
    return { groupId: group.id, directId: direct.conversation.id };
  });
  const client = async (id: string) => asUser(t, await userToken(t, tenant, id));
  return {
    tenant,
    groupId,
    directId,
    alice: await client('alice'),
    bob: await client('bob'),
    carol: await client('carol'),
    dave: await client('dave'),
    all: ['alice', 'bob', 'carol'],
  };
}

export const msgs = (id: string) => `/v1/conversations/${id}/messages`;
