import { SendOrder } from './send-order';

const tick = () => new Promise((r) => setImmediate(r));

describe('SendOrder', () => {
  it('gives turns in arrival order per key, whatever order the work finishes in', async () => {
    const order = new SendOrder();
    const done: number[] = [];
    const delays = [30, 1, 15, 0, 5];
    await Promise.all(
      delays.map(async (ms, i) => {
        const turn = order.enter('k');
        try {
          await turn.ready;
          await new Promise((r) => setTimeout(r, ms));
          done.push(i);
        } finally {
          turn.release();
        }
      }),
    );
    expect(done).toEqual([0, 1, 2, 3, 4]);
    expect(order.size).toBe(0);
  });

  it('does not hold other keys, and a failed turn lets the next one go', async () => {
    const order = new SendOrder();
    const a1 = order.enter('a');
    const b1 = order.enter('b');
    const a2 = order.enter('a');
    let a2Ran = false;
    void a2.ready.then(() => (a2Ran = true));
    await b1.ready;
    await a1.ready;
    await tick();
    expect(a2Ran).toBe(false);
    a1.release(); // e.g. the check threw
    a1.release(); // idempotent
    await tick();
    expect(a2Ran).toBe(true);
    b1.release();
    a2.release();
    expect(order.size).toBe(0);
  });

  it('a turn given up while it waits lets the next one go when its turn comes, not before', async () => {
    const order = new SendOrder();
    const a1 = order.enter('a');
    const a2 = order.enter('a');
    const a3 = order.enter('a');
    expect([a1.waits, a2.waits, a3.waits]).toEqual([false, true, true]);
    const ran: string[] = [];
    void a2.ready.then(() => ran.push('a2'));
    void a3.ready.then(() => ran.push('a3'));
    a2.release();
    await tick();
    expect(ran).toEqual([]);
    a1.release();
    await tick();
    expect(ran).toEqual(['a2', 'a3']);
    a3.release();
    expect(order.size).toBe(0);
  });
});
