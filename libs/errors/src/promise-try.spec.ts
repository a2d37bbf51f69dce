import { promiseTry } from './promise-try';

describe('promiseTry', () => {
  it('turns a synchronous throw into a rejection', async () => {
    const boom = new Error('boom');
    const p = promiseTry(() => {
      throw boom;
    });
    await expect(p).rejects.toBe(boom);
  });

  it('resolves a plain value and hands back a promise as it is (no extra promise)', async () => {
    await expect(promiseTry(() => 7)).resolves.toBe(7);
    const inner = Promise.resolve('x');
    expect(promiseTry(() => inner)).toBe(inner);
  });
});
