/* The messages_per_second quota, set per tenant through the admin API, enforced on both write paths:
 * REST (429 rate_limited with Retry-After) and socket.io (message:send error ack in the same shape).
 * Real FerretDB and Redis. The window is one second: sends go one after another until the first
 * refusal, so a slow machine only takes more sends, never a wrong result. */
import type { Response } from 'supertest';
import { adminLogin, api, asAdmin, asUser, createTenant, TestTenant, userToken } from './support/factories';
import { ask, closeAllSockets, connectSocket, envelope } from './support/socket-client';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(60_000);

const MAX_SENDS = 40;

describe('messages_per_second quota (admin API, REST and socket)', () => {
  let t: TestApp;
  let admin: ReturnType<typeof asAdmin>;
  beforeAll(async () => {
    t = await createTestApp();
    admin = asAdmin(t, await adminLogin(t));
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => t?.close());

  /** An enterprise tenant (generous quotas) with alice and bob in a group, then messages_per_second: 1 through PATCH. */
  async function lowQuotaTenant(): Promise<{ tenant: TestTenant; conv: string; alice: string }> {
    const tenant = await createTenant(t);
    for (const u of ['alice', 'bob']) await api(t, tenant).put(`/v1/users/${u}`).send({ profile: { display_name: u } }).expect((r) => expect([200, 201]).toContain(r.status));
    const alice = await userToken(t, tenant, 'alice');
    const conv = await asUser(t, alice).post('/v1/conversations').send({ type: 'group', name: 'q', member_ids: ['bob'] }).expect(201);
    const patched = await admin.patch(`/admin/tenants/${tenant.tenantId}`).send({ quotas: { messages_per_second: 1 } }).expect(200);
    expect(patched.body.quotas.messages_per_second).toBe(1);
    return { tenant, conv: conv.body.id, alice };
  }

  const history = async (token: string, conv: string): Promise<number> => (await asUser(t, token).get(`/v1/conversations/${conv}/messages?limit=100`).expect(200)).body.data.length;

  it('REST: 429 rate_limited with Retry-After past the quota, nothing stored for the refused send, audited; a raised quota applies at once', async () => {
    const { tenant, conv, alice } = await lowQuotaTenant();
    let accepted = 0;
    let refused: Response | null = null;
    for (let i = 0; i < MAX_SENDS && !refused; i++) {
      const res = await asUser(t, alice).post(`/v1/conversations/${conv}/messages`).send({ content: envelope(['alice', 'bob']) });
      if (res.status === 201) accepted++;
      else if (res.status === 429) refused = res;
      else throw new Error(`unexpected ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(refused).not.toBeNull();
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(refused!.body).toEqual({
      error: { code: 'rate_limited', message: expect.any(String), details: { quota: 'messages_per_second', limit: 1, retry_after_seconds: 1 } },
    });
    expect(refused!.headers['retry-after']).toBe('1');
    expect(await history(alice, conv)).toBe(accepted);

    const audit = await admin.get(`/admin/audit-logs?tenant_id=${tenant.tenantId}&action=quota.exceeded`).expect(200);
    expect(audit.body.data[0]).toMatchObject({ success: false, severity: 'warning', resource: { type: 'quota', id: 'messages_per_second' }, details: { quota: 'messages_per_second', limit: 1 } });

    // Raised through the admin API: the very next burst fits.
    await admin.patch(`/admin/tenants/${tenant.tenantId}`).send({ quotas: { messages_per_second: 1000 } }).expect(200);
    for (let i = 0; i < 5; i++) await asUser(t, alice).post(`/v1/conversations/${conv}/messages`).send({ content: envelope(['alice', 'bob']) }).expect(201);
  });

  it('socket: message:send answers an error ack rate_limited (quota details, retry hint) and stores nothing for it', async () => {
    const { conv, alice } = await lowQuotaTenant();
    const s = await connectSocket(t.url, alice);
    let accepted = 0;
    let refusal: { error: { code: string; message: string; details?: any } } | null = null;
    for (let i = 0; i < MAX_SENDS && !refusal; i++) {
      const ack = await ask(s, 'message:send', { conversation_id: conv, content: envelope(['alice', 'bob']) });
      if ('ok' in ack) accepted++;
      else refusal = ack;
    }
    expect(refusal).toEqual({
      error: { code: 'rate_limited', message: expect.any(String), details: { quota: 'messages_per_second', limit: 1, retry_after_seconds: 1 } },
    });
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(s.connected).toBe(true); // a refusal is an ack, not a disconnection
    expect(await history(alice, conv)).toBe(accepted);
  });

  it('one budget per tenant across REST and socket; another tenant is not affected', async () => {
    const { tenant, conv, alice } = await lowQuotaTenant();
    const other = await lowQuotaTenant();
    const s = await connectSocket(t.url, alice);
    // Spend the window over REST, then the socket send in the same window is refused: retried until
    // REST and socket land in one window (a slow machine can split them).
    let shared = false;
    for (let i = 0; i < MAX_SENDS && !shared; i++) {
      const rest = await asUser(t, alice).post(`/v1/conversations/${conv}/messages`).send({ content: envelope(['alice', 'bob']) });
      if (rest.status !== 201) continue;
      const ack = await ask(s, 'message:send', { conversation_id: conv, content: envelope(['alice', 'bob']) });
      shared = !('ok' in ack) && ack.error.code === 'rate_limited';
    }
    expect(shared).toBe(true);
    // The other tenant, refused nothing so far, sends at once.
    await asUser(t, other.alice).post(`/v1/conversations/${other.conv}/messages`).send({ content: envelope(['alice', 'bob']) }).expect(201);
    expect(tenant.tenantId).not.toBe(other.tenant.tenantId);
  });
});
