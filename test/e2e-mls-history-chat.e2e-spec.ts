/* E2E v2 history with the chat layer (MlsChat over REST, real app): a user's third device restores the
 * epoch keys with the recovery key and reads the full history; without it every earlier message says
 * key_not_backed_up; a member added later reads from their join (earlier ones hidden, not_a_member_then), or,
 * with `shared` visibility, everything, from the bundle a member device posts when it sees them join. */
import { ChatUserClient } from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { createTestApp, TestApp } from './support/test-app';
import { readStream, rid, sdkTenant, SdkTenant } from './e2e-helpers';

jest.setTimeout(180_000);

/** Each v2 message of the stream as this device reads it: its text, or `!reason`. Commits are applied on the way. */
async function readAll(chat: mls.MlsChat, client: ChatUserClient, convId: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of await readStream(client, convId)) {
    try {
      const r = await chat.receive(m);
      if (r.kind === 'message' && r.payload.kind === 'text') out.push(r.payload.text);
    } catch (err) {
      if (!(err instanceof mls.MlsDecryptError)) throw err;
      out.push(`!${err.reason}`);
    }
  }
  return out;
}

describe('E2E v2 history with MlsChat (key backup, joined/shared)', () => {
  let t: TestApp;
  let a: SdkTenant;
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    a = await sdkTenant(t);
  });
  afterAll(async () => t?.close());

  it('third device: full history with the recovery key, key_not_backed_up without; later members: not_a_member_then, or everything with shared', async () => {
    const [alice, bob, carol, dave] = [rid('alice'), rid('bob'), rid('carol'), rid('dave')];
    const users = await a.users([alice, bob, carol, dave]);
    const ctx = { tenantId: a.tenant.tenantId, userId: alice };
    const backup = new mls.KeyBackupClient(users[alice]!.http, ctx);
    const { backupKey, recoveryKey } = await backup.create({ recoveryKey: true });
    // Device ids sort so that Alice's first device is the one that shares history on a join.
    const phone = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'a-phone', history: { backup: { client: backup, backupKey } } });
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'history', member_ids: [bob] });
    await phone.sendText(conv.id, 'one');
    const laptop = await mls.MlsChat.create({ client: users[bob]!, deviceId: 'laptop' });
    await laptop.open(conv.id); // a new epoch
    await phone.sendText(conv.id, 'two');
    await laptop.sendText(conv.id, 'three');
    const before = ['one', 'two', 'three'];
    expect((await backup.status())!.entry_count).toBeGreaterThanOrEqual(2);

    // Alice's third device with the recovery key: restore, join, read everything.
    const restoredKeys = new mls.InMemoryEpochKeyStore();
    await new mls.KeyBackupClient(users[alice]!.http, ctx).restore({ recoveryKey: recoveryKey! }, restoredKeys);
    const third = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'c-tablet', keys: restoredKeys });
    await third.open(conv.id);
    expect(await readAll(third, users[alice]!, conv.id)).toEqual(before);

    // A fourth device without it: each earlier message says why.
    const fourth = await mls.MlsChat.create({ client: users[alice]!, deviceId: 'd-tablet' });
    await fourth.open(conv.id);
    await phone.sendText(conv.id, 'after the fourth joined');
    expect(await readAll(fourth, users[alice]!, conv.id)).toEqual(['!key_not_backed_up', '!key_not_backed_up', '!key_not_backed_up', 'after the fourth joined']);

    // Carol, added with `joined` visibility (the default): the earlier messages are not in her history
    // (hidden by the server), and one handed to her anyway says not_a_member_then.
    await users[alice]!.addMembers(conv.id, [carol]);
    const carolChat = await mls.MlsChat.create({ client: users[carol]!, deviceId: 'tab' });
    await carolChat.open(conv.id);
    await readAll(phone, users[alice]!, conv.id); // Alice's phone sees the join (no bundle: joined)
    await phone.sendText(conv.id, 'welcome carol');
    expect(await readAll(carolChat, users[carol]!, conv.id)).toEqual(['welcome carol']);
    const earlier = (await users[alice]!.history(conv.id, { after_seq: 0, limit: 100 })).data.find((m) => (m.content as { type?: string }).type === 'text')!;
    await expect(carolChat.receive(earlier)).rejects.toMatchObject({ reason: 'not_a_member_then' });

    // Dave, added after the owner switched to `shared`: Alice's phone shares the earlier keys when it sees him join.
    await phone.history.conversations.setVisibility(conv.id, 'shared');
    await users[alice]!.addMembers(conv.id, [dave]);
    const daveChat = await mls.MlsChat.create({ client: users[dave]!, deviceId: 'pc' });
    await daveChat.open(conv.id);
    await readAll(phone, users[alice]!, conv.id);
    const bundles = await users[dave]!.http.get<{ data: unknown[] }>(`/v1/conversations/${conv.id}/mls/history/bundles`);
    expect(bundles.data).toHaveLength(1);
    expect(await readAll(daveChat, users[dave]!, conv.id)).toEqual([...before, 'after the fourth joined', 'welcome carol']);
  });
});
