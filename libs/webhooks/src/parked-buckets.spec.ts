import { PARKED_BUCKET_ROWS, PARKED_SLOT_MS, ParkedBuckets } from './parked-buckets';
import { ParkedBucketDoc } from './parked-endpoints.repository';

/** An allocator whose bucket writes answer when the test says (`flush`). */
function allocator() {
  const written: ParkedBucketDoc[] = [];
  let waiting: Array<() => void> = [];
  const b = new ParkedBuckets('ep', 'tenant', 'node', (doc) => new Promise<void>((done) => waiting.push(() => (written.push(doc), done()))), () => undefined);
  const flush = async () => {
    const now = waiting;
    waiting = [];
    for (const answer of now) answer();
    await new Promise((r) => setImmediate(r));
  };
  return { b, written, flush };
}

describe('ParkedBuckets', () => {
  const slot = 1000;
  const at = slot * PARKED_SLOT_MS + 5;

  it('parks a row only into a bucket whose document is stored, and writes the next slot ahead', async () => {
    const { b, written, flush } = allocator();
    expect(b.take(at)).toBeNull();
    await flush();
    expect(written.map((d) => [d.slot, d.key, d.retry_from.getTime()])).toEqual([
      [slot, `${b.owner}:${slot}:0`, slot * PARKED_SLOT_MS],
      [slot + 1, `${b.owner}:${slot + 1}:0`, (slot + 1) * PARKED_SLOT_MS],
    ]);
    expect(b.take(at)).toEqual({ key: `${b.owner}:${slot}:0`, slot });
    // The next slot's bucket is there before its first row.
    expect(b.take(at + PARKED_SLOT_MS)).toEqual({ key: `${b.owner}:${slot + 1}:0`, slot: slot + 1 });
  });

  it('moves to the next bucket of a slot every PARKED_BUCKET_ROWS rows once it is stored (written when half full)', async () => {
    const { b, written, flush } = allocator();
    const prepared = b.prepare(at);
    await flush();
    await prepared;
    const keys: string[] = [];
    for (let i = 0; i < PARKED_BUCKET_ROWS; i++) keys.push(b.take(at)!.key);
    await flush();
    for (let i = 0; i < PARKED_BUCKET_ROWS; i++) keys.push(b.take(at)!.key);
    expect(new Set(keys.slice(0, PARKED_BUCKET_ROWS))).toEqual(new Set([`${b.owner}:${slot}:0`]));
    expect(new Set(keys.slice(PARKED_BUCKET_ROWS))).toEqual(new Set([`${b.owner}:${slot}:1`]));
    await flush();
    // The third was asked for when the second was half full.
    expect(written.filter((d) => d.slot === slot).map((d) => d.key)).toEqual([`${b.owner}:${slot}:0`, `${b.owner}:${slot}:1`, `${b.owner}:${slot}:2`]);
  });

  it('keeps filling a full bucket while the next one is not stored yet', async () => {
    const { b, flush } = allocator();
    const prepared = b.prepare(at);
    await flush();
    await prepared;
    for (let i = 0; i < PARKED_BUCKET_ROWS + 10; i++) expect(b.take(at)!.key).toBe(`${b.owner}:${slot}:0`);
    await flush();
    expect(b.take(at)!.key).toBe(`${b.owner}:${slot}:1`);
  });
});
