/* The MLS commit route's own body limit (MLS_COMMIT_BODY_LIMIT_BYTES): a commit carries the GroupInfo
 * with the group's ratchet tree (~300 base64 bytes a device), so past ~3,500 devices it outgrows the
 * general BODY_LIMIT_BYTES (1 MiB). Here the general limit is made tiny (4 KiB) so that a commit of a
 * small real group already exceeds it: the commit goes through, other routes still refuse such a body,
 * and the commit route refuses a body over its own limit with 413 in the one error shape. */
import { ChatUserClient } from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { createTestApp, TestApp } from './support/test-app';
import { expectApiError, rid, sdkTenant, SdkTenant } from './e2e-helpers';

jest.setTimeout(60_000);

const GENERAL = 4096;
const COMMIT = 64 * 1024;

describe('MLS commit body limit (real HTTP)', () => {
  let t: TestApp;
  let a: SdkTenant;
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0', BODY_LIMIT_BYTES: String(GENERAL), MLS_COMMIT_BODY_LIMIT_BYTES: String(COMMIT) } });
    a = await sdkTenant(t);
  });
  afterAll(async () => t?.close());

  it('takes a commit larger than BODY_LIMIT_BYTES, up to MLS_COMMIT_BODY_LIMIT_BYTES', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => rid(`u${i}`));
    const users = await a.users(ids);
    const devices = await Promise.all(ids.map((id) => mls.MlsDevice.connect(users[id]!.http, 'd')));
    for (const d of devices.slice(1)) await d.publishKeyPackages(1);
    const owner: ChatUserClient = users[ids[0]!]!;
    const conv = await owner.createConversation({ type: 'group', name: 'limit', member_ids: ids.slice(1) });

    // What the creator's commit request weighs: over the general limit, under the commit route's.
    const creator = devices[0]!;
    let commitBytes = 0;
    const request = creator.http.request.bind(creator.http);
    creator.http.request = (async (method: string, path: string, o: { body?: unknown } = {}) => {
      if (path.endsWith('/mls/commits')) commitBytes = JSON.stringify(o.body).length;
      return request(method, path, o as never);
    }) as typeof creator.http.request;
    const groupId = await creator.createGroup(conv.id, ids.slice(1));
    expect(commitBytes).toBeGreaterThan(GENERAL);
    expect(commitBytes).toBeLessThan(COMMIT);
    expect(await devices[5]!.acceptWelcomes()).toEqual([conv.id]);
    expect(devices[5]!.client.epoch(groupId)).toBe(1n);

    // The same size on any other authenticated route is still refused by the general limit.
    const big = 'x'.repeat(commitBytes);
    const refused = await expectApiError(owner.http.post(`/v1/conversations/${conv.id}/messages`, { content: { text: big } }), 413, 'payload_too_large');
    expect(refused.details).toEqual({ max_bytes: GENERAL });

    // Over the commit route's own limit: 413 before anything is parsed, and the group did not move.
    const tooBig = await expectApiError(
      owner.http.post(`/v1/conversations/${conv.id}/mls/commits`, { device_id: 'd', commit: 'A'.repeat(COMMIT), group_info: 'AAAA' }),
      413,
      'payload_too_large',
    );
    expect(tooBig.details).toEqual({ max_bytes: COMMIT });
    expect(await owner.http.get(`/v1/conversations/${conv.id}/mls`)).toMatchObject({ group_id: groupId, epoch: 1 });
  });

  it('keeps the tight limit for the commit route when the caller is not authenticated', async () => {
    const res = await fetch(`${t.url}/v1/conversations/x/mls/commits`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ commit: 'A'.repeat(2 * GENERAL) }) });
    // Refused by the guard before the body is read: a commit-sized body costs an anonymous caller nothing.
    expect(res.status).toBe(401);
  });
});
