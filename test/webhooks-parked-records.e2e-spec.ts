/* A node's record of a parked endpoint (ParkedEndpointsRepository.hold) is written by its renewals and by
 * a takeover's sweep, which may run at once. On FerretDB an upsert reads, then inserts: two upserts of a
 * record that does not exist yet both insert, and one failed with a duplicate key error, which made the
 * sweep skip its takeover until its next turn (the parked suite's "before buckets" case waited for ever on
 * a clock that stood still). Both writes must succeed. */
import { ParkedEndpointsRepository } from '@chat/webhooks';
import { createTestApp, TestApp } from './support/test-app';

describe('webhooks: records of parked endpoints', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('concurrent writes of one new record all succeed and leave one record', async () => {
    const records = app.app.get(ParkedEndpointsRepository);
    for (let round = 0; round < 5; round++) {
      const endpointId = `ep-${round}`;
      const leases = Array.from({ length: 8 }, (_, i) => new Date(1_000_000 + round * 1000 + i));
      await expect(Promise.all(leases.map((until) => records.hold(endpointId, 'tenant-1', 'node-a', until)))).resolves.toHaveLength(8);
      const mine = (await records.all()).filter((r) => r.endpoint_id === endpointId);
      expect(mine).toHaveLength(1);
    }
  });
});
