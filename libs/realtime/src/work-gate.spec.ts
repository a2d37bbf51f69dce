import { AsyncLocalStorage } from 'node:async_hooks';
import { InFlightRequests, WorkGate } from './work-gate';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const flush = () => new Promise<void>((r) => setImmediate(r));

describe('WorkGate', () => {
  it('runs at most `concurrency` tasks at once, the rest in arrival order', async () => {
    const gate = new WorkGate(2, 10);
    const blockers = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = blockers.map((b, i) => gate.run(async () => (started.push(i), b.promise)));
    const settled = Promise.allSettled(runs);
    await flush();
    expect(started).toEqual([0, 1]);
    expect(gate.running).toBe(2);
    expect(gate.queued).toBe(2);
    blockers[1].resolve();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    blockers[0].reject(new Error('boom'));
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    blockers[2].resolve();
    blockers[3].resolve();
    expect((await settled).map((s) => s.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(gate.running).toBe(0);
  });

  it('refuses at once when the wait queue is full', async () => {
    const gate = new WorkGate(1, 1);
    const b = deferred();
    const first = gate.run(() => b.promise);
    const second = gate.run(async () => 'second');
    await expect(gate.run(async () => 'third')).rejects.toMatchObject({ code: 'service_unavailable', retryAfterSeconds: 1 });
    b.resolve();
    await first;
    expect(await second).toBe('second');
  });

  it("a queued task runs in its caller's async context, not in that of the task that freed the slot", async () => {
    const als = new AsyncLocalStorage<string>();
    const gate = new WorkGate(1, 10);
    const b = deferred();
    const a = als.run('tenant-a', () => gate.run(() => b.promise));
    const seen = als.run('tenant-b', () => gate.run(async () => als.getStore()));
    await flush();
    b.resolve();
    await a;
    expect(await seen).toBe('tenant-b');
  });
});

describe('InFlightRequests', () => {
  it('shares one execution between identical requests in flight, and runs again once it settled', async () => {
    const shared = new InFlightRequests<number>();
    let calls = 0;
    const b = deferred<number>();
    const task = () => (calls++, b.promise);
    const p1 = shared.run('k', task);
    const p2 = shared.run('k', task);
    const other = shared.run('other', async () => 7);
    b.resolve(42);
    expect(await Promise.all([p1, p2, other])).toEqual([42, 42, 7]);
    expect(calls).toBe(1);
    expect(shared.size).toBe(0);
    await shared.run('k', async () => (calls++, 1));
    expect(calls).toBe(2);
  });

  it('a failure is shared too, and not remembered', async () => {
    const shared = new InFlightRequests<number>();
    const b = deferred<number>();
    const p1 = shared.run('k', () => b.promise);
    const p2 = shared.run('k', () => b.promise);
    b.reject(new Error('down'));
    await expect(p1).rejects.toThrow('down');
    await expect(p2).rejects.toThrow('down');
    expect(await shared.run('k', async () => 3)).toBe(3);
  });
});
