/* A webhook endpoint keeps every change made to it, whatever other write of its document ran beside.
 * On FerretDB a single-document update is read, changed in Go and written back whole, so of two
 * concurrent PATCHes of different fields one was lost, and a PATCH that read the endpoint before its
 * deletion wrote it back without `deleted_at`: the deleted endpoint was live again and kept receiving
 * the tenant's events. (The dispatcher's 410-disable is the same update as a PATCH.) */
import { verifySignature } from '@chat/webhooks';
import { api, createTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { WEBHOOK_TEST_ENV, WebhookReceiver } from './support/webhook-receiver';

describe('webhook endpoints under concurrent writes (FerretDB)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: WEBHOOK_TEST_ENV });
  });
  afterAll(async () => t?.close());

  it('two PATCHes of different fields at once: both kept', async () => {
    const tenant = await createTenant(t);
    const lost: string[] = [];
    for (let i = 0; i < 30; i++) {
      const created = await api(t, tenant).post('/v1/webhooks').send({ url: 'http://127.0.0.1:9/hooks', events: ['message.new'] }).expect(201);
      const id: string = created.body.id;
      const [a, b] = await Promise.all([
        api(t, tenant).patch(`/v1/webhooks/${id}`).send({ description: `described ${i}` }),
        api(t, tenant).patch(`/v1/webhooks/${id}`).send({ url: `http://127.0.0.1:9/moved/${i}` }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      const stored = (await api(t, tenant).get(`/v1/webhooks/${id}`).expect(200)).body;
      if (stored.description !== `described ${i}` || stored.url !== `http://127.0.0.1:9/moved/${i}`) lost.push(`${id}: ${stored.description}, ${stored.url}`);
    }
    expect(lost).toEqual([]);
  }, 180_000);

  it('an endpoint deleted while it is being patched stays deleted', async () => {
    const tenant = await createTenant(t);
    const lost: string[] = [];
    for (let i = 0; i < 30; i++) {
      const created = await api(t, tenant).post('/v1/webhooks').send({ url: 'http://127.0.0.1:9/hooks', events: ['message.new'] }).expect(201);
      const id: string = created.body.id;
      const [patch, remove] = await Promise.all([
        api(t, tenant).patch(`/v1/webhooks/${id}`).send({ description: `described ${i}`, active: true }),
        api(t, tenant).delete(`/v1/webhooks/${id}`),
      ]);
      // The PATCH may come first (then the deletion follows it) or second (then it finds nothing).
      expect(remove.status).toBe(200);
      expect([200, 404]).toContain(patch.status);
      const shown = await api(t, tenant).get(`/v1/webhooks/${id}`);
      const listed = (await api(t, tenant).get('/v1/webhooks').expect(200)).body.data.map((e: { id: string }) => e.id);
      if (shown.status !== 404 || listed.includes(id)) lost.push(`${id}: ${shown.status}, active ${shown.body.active}`);
    }
    expect(lost).toEqual([]);
  }, 180_000);

  // Each rotation's caller is shown its new secret once. Of two at once, the later must keep the
  // earlier's secret signing through the overlap (it is the previous one), as if they ran one after
  // the other; before, both read the same old secret and the first caller's secret never signed.
  it('two secret rotations at once: both shown secrets sign during the overlap', async () => {
    const tenant = await createTenant(t);
    const receiver = await new WebhookReceiver().start();
    const lost: string[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const created = await api(t, tenant).post('/v1/webhooks').send({ url: receiver.url, events: ['message.new'] }).expect(201);
        const id: string = created.body.id;
        const [a, b] = await Promise.all([
          api(t, tenant).post(`/v1/webhooks/${id}/rotate-secret`).send({ grace_seconds: 3600 }),
          api(t, tenant).post(`/v1/webhooks/${id}/rotate-secret`).send({ grace_seconds: 3600 }),
        ]);
        expect([a.status, b.status]).toEqual([200, 200]);
        await api(t, tenant).post(`/v1/webhooks/${id}/test`).expect(200);
        const ping = receiver.received.at(-1)!;
        const now = Math.floor(Date.now() / 1000);
        const signs = (secret: string) => verifySignature(secret, ping.signature, ping.timestamp, ping.raw, now);
        if (!signs(a.body.secret) || !signs(b.body.secret)) lost.push(`${id}: first ${signs(a.body.secret)}, second ${signs(b.body.secret)}`);
      }
    } finally {
      await receiver.stop();
    }
    expect(lost).toEqual([]);
  }, 180_000);
});
