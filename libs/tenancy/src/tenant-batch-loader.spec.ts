import { TenantBatchLoader } from './tenant-batch-loader';
import { TenantContext } from './tenant-context';
import { asTenantId } from './tenant-id';

const as = <T>(tenant: string, fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId(tenant) }, fn);

describe('TenantBatchLoader', () => {
  it('answers keys asked together with one load per tenant, in that tenant context', async () => {
    const calls: Array<{ tenant: string | undefined; keys: string[] }> = [];
    const loader = new TenantBatchLoader<string>(async (keys) => {
      calls.push({ tenant: TenantContext.current()?.tenantId, keys });
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, `${TenantContext.current()?.tenantId}:${k}`]));
    });
    const got = await Promise.all([
      as('t1', () => loader.get('a')),
      as('t1', () => loader.get('b')),
      as('t1', () => loader.get('a')),
      as('t2', () => loader.get('a')),
      as('t1', () => loader.get('missing')),
    ]);
    expect(got).toEqual(['t1:a', 't1:b', 't1:a', 't2:a', undefined]);
    expect(calls).toHaveLength(2);
    expect(calls.find((c) => c.tenant === 't1')!.keys.sort()).toEqual(['a', 'b', 'missing']);
  });

  it('collects keys that arrive while a load runs into the next one, at most maxBatch each', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const loader = new TenantBatchLoader<number>(async (keys) => {
      batches.push(keys);
      if (batches.length === 1) await gate;
      return new Map(keys.map((k) => [k, Number(k)]));
    }, 2);
    const first = as('t1', () => loader.get('1'));
    await new Promise((r) => setImmediate(r));
    const later = ['2', '3', '4'].map((k) => as('t1', () => loader.get(k)));
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4]);
    expect(batches).toEqual([['1'], ['2', '3'], ['4']]);
  });

  it('fails every waiter of a failed load, and the next load still runs', async () => {
    let fail = true;
    const loader = new TenantBatchLoader<string>(async (keys) => {
      if (fail) throw new Error('db down');
      return new Map(keys.map((k) => [k, k]));
    });
    await expect(as('t1', () => loader.get('x'))).rejects.toThrow('db down');
    fail = false;
    await expect(as('t1', () => loader.get('x'))).resolves.toBe('x');
  });

  it('needs a tenant in context', () => {
    const loader = new TenantBatchLoader<string>(async () => new Map());
    expect(() => loader.get('x')).toThrow();
  });
});
