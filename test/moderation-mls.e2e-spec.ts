/* Moderation applies to E2E v2 too: an MLS application message is a send like any other, so a muted
 * member's and a frozen conversation's are refused (real SDK devices over HTTP, ts-mls in process).
 * The moderation calls go through the SDK (ChatServerClient / ChatUserClient `.moderation`). */
import * as mls from '../libs/sdk/src/mls';
import { createTestApp, TestApp } from './support/test-app';
import { expectApiError, rid, sdkTenant } from './e2e-helpers';

jest.setTimeout(90_000);

describe('moderation of MLS application messages', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => t?.close());

  it('refuses a muted member and a frozen conversation on the MLS message path (moderation, system messages and bans driven through the SDK)', async () => {
    const a = await sdkTenant(t);
    const [alice, bob] = [rid('alice'), rid('bob')];
    const users = await a.users([alice, bob]);
    const aliceDev = await mls.MlsDevice.connect(users[alice]!.http, 'phone');
    const bobDev = await mls.MlsDevice.connect(users[bob]!.http, 'laptop');
    await aliceDev.publishKeyPackages(1, { lastResort: true });
    await bobDev.publishKeyPackages(1, { lastResort: true });
    const conv = await users[alice]!.createConversation({ type: 'group', name: 'mls', member_ids: [bob] });
    await aliceDev.createGroup(conv.id, [bob]);
    expect(await bobDev.acceptWelcomes()).toEqual([conv.id]);
    await bobDev.send(conv.id, 'before');

    // Through the SDK: the server mutes, the owner freezes.
    expect(await a.server.moderation.mute(conv.id, bob, { reason: 'spam' })).toMatchObject({ user_id: bob, reason: 'spam' });
    await expectApiError(bobDev.send(conv.id, 'while muted'), 403, 'member_muted');
    await aliceDev.send(conv.id, 'alice is not muted');

    expect(await users[alice]!.moderation.update(conv.id, { frozen: true })).toMatchObject({ frozen: true, muted: [{ user_id: bob, expires_at: null }] });
    await expectApiError(aliceDev.send(conv.id, 'while frozen'), 403, 'conversation_frozen');
    await expectApiError(users[bob]!.moderation.update(conv.id, { frozen: false }), 403, 'forbidden');
    await users[alice]!.moderation.update(conv.id, { frozen: false });
    await a.server.moderation.unmute(conv.id, bob);
    await bobDev.send(conv.id, 'after');
    expect((await aliceDev.sync(conv.id)).map((m) => m.text)).toEqual(['before', 'after']);

    // System messages and tenant-wide bans through the SDK too.
    const notice = await a.server.postSystemMessage(conv.id, 'Bob is back', 'back-1');
    expect(notice).toMatchObject({ type: 'system', e2e: false, text: 'Bob is back', sender_id: '#system' });
    expect(await a.server.banUser(bob, { reason: 'x' })).toMatchObject({ user_id: bob, active: true });
    await expectApiError(users[bob]!.me(), 403, 'user_banned');
    await a.server.unbanUser(bob);
    await users[bob]!.me();
  });
});
