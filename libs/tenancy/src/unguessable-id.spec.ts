import { unguessableObjectId } from './unguessable-id';

describe('unguessableObjectId', () => {
  it('keeps the creation second (getTimestamp) and sorts by creation time to the millisecond', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = unguessableObjectId(t);
    expect(id.getTimestamp().getTime()).toBe(Math.floor(t / 1000) * 1000);
    const ids = [t, t + 1, t + 322, t + 1000, t + 86_400_000].map((ms) => unguessableObjectId(ms).toHexString());
    expect([...ids].sort()).toEqual(ids);
  });

  it('ids of the same millisecond share nothing after the time: 48 random bits', () => {
    const t = Date.now();
    const tails = new Set(Array.from({ length: 1000 }, () => unguessableObjectId(t).toHexString().slice(12)));
    expect(tails.size).toBe(1000);
    const [a, b] = [unguessableObjectId(t), unguessableObjectId(t)].map((id) => BigInt('0x' + id.toHexString().slice(12)));
    expect(a - b > 1_000_000n || b - a > 1_000_000n).toBe(true);
  });
});
