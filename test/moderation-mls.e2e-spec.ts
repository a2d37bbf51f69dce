/* Moderation applies to E2E v2 too: an MLS application message is a send like any other, so a muted
 * member's and a frozen conversation's are refused (real SDK devices over HTTP, ts-mls in process). */
import * as mls from '../libs/sdk/src/mls';
import { api } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { expectApiError, rid, sdkTenant } from './e2e-helpers';

jest.setTimeout(90_000);

describe('moderation of MLS application messages', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => t?.close());

  it('refuses a muted member and a frozen conversation on the MLS message path', async () => {
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

    const key = api(t, a.tenant);
    await key.put(`/v1/conversations/${conv.id}/mutes/${bob}`).send({}).expect(200);
    await expectApiError(bobDev.send(conv.id, 'while muted'), 403, 'member_muted');
    await aliceDev.send(conv.id, 'alice is not muted');

    await key.patch(`/v1/conversations/${conv.id}/moderation`).send({ frozen: true }).expect(200);
    await expectApiError(aliceDev.send(conv.id, 'while frozen'), 403, 'conversation_frozen');
    await key.patch(`/v1/conversations/${conv.id}/moderation`).send({ frozen: false }).expect(200);
    await key.delete(`/v1/conversations/${conv.id}/mutes/${bob}`).expect(204);
    await bobDev.send(conv.id, 'after');
    expect((await aliceDev.sync(conv.id)).map((m) => m.text)).toEqual(['before', 'after']);
  });
});
