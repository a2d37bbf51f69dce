/* A webhook endpoint keeps every change made to it, whatever other write of its document ran beside.
 * On FerretDB a single-document update is read, changed in Go and written back whole, so of two
 * concurrent PATCHes of different fields one was lost, and a PATCH that read the endpoint before its
 * deletion wrote it back without `deleted_at`: the deleted endpoint was live again and kept receiving
 * the tenant's events. (The dispatcher's 410-disable is the same update as a PATCH.) */
import { api, createTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';
import { WEBHOOK_TEST_ENV } from './support/webhook-receiver';

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
});
