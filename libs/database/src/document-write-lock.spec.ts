import type { RedisService } from '@chat/redis';
import type { DatabaseInfo } from './database-info';
import { DocumentWriteLock } from './document-write-lock';

describe('DocumentWriteLock', () => {
  // No Redis here (in-process queue only); the cross-process lease is covered by test/ferretdb-two-processes.e2e-spec.ts.
  const lockFor = (server?: 'mongodb' | 'ferretdb') =>
    new DocumentWriteLock({ capabilities: server ? { server } : undefined } as unknown as DatabaseInfo, { client: null } as unknown as RedisService);
  // Yields to the event loop so unserialised holders would interleave.
  const tick = () => new Promise((r) => setImmediate(r));

  it('serialises writes to one document when updates are not atomic (FerretDB or unknown)', async () => {
    for (const lock of [lockFor('ferretdb'), lockFor()]) {
      let value = 0;
      // A read-modify-write that loses updates when interleaved.
      const rmw = () => lock.run('c', 'doc', async () => {
        const v = value;
        await tick();
        value = v + 1;
      });
      await Promise.all(Array.from({ length: 20 }, rmw));
      expect(value).toBe(20);
    }
  });

  it('keeps going after a failed holder, and runMany takes several locks', async () => {
    const lock = lockFor('ferretdb');
    await expect(lock.run('c', 'x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.run('c', 'x', async () => 'after')).toBe('after');
    const order: string[] = [];
    await Promise.all([
      lock.runMany('c', ['b', 'a'], async () => {
        order.push('ab-start');
        await tick();
        order.push('ab-end');
      }),
      lock.run('c', 'a', async () => void order.push('a')),
    ]);
    expect(order).toEqual(['ab-start', 'ab-end', 'a']);
  });

  it('does not serialise on MongoDB', async () => {
    const lock = lockFor('mongodb');
    let inside = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        lock.run('c', 'doc', async () => {
          max = Math.max(max, ++inside);
          await tick();
          inside--;
        }),
      ),
    );
    expect(max).toBe(5);
  });

  it('runFree holds only the free documents, without waiting; a writer arriving meanwhile waits behind it', async () => {
    const lock = lockFor('ferretdb');
    let letGo!: () => void;
    const busy = lock.run('c', 'b', () => new Promise<void>((r) => (letGo = r)));
    const order: string[] = [];
    await lock.runFree('c', ['a', 'b', 'c'], async (held) => {
      expect(held).toEqual(['a', 'c']);
      const later = lock.run('c', 'a', async () => void order.push('later a'));
      await tick();
      order.push('batch');
      void later;
    });
    await tick();
    expect(order).toEqual(['batch', 'later a']);
    letGo();
    await busy;
    expect(await lock.runFree('c', ['b'], async (held) => held)).toEqual(['b']);
    expect(await lockFor('mongodb').runFree('c', ['a'], async (held) => held)).toEqual(['a']);
  });
});
