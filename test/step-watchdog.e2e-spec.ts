/* The stall watchdog of long acceptance tests (test/support/step-watchdog.ts): a step whose promise
 * never settles fails, named, once the process has been idle long enough; a step that keeps working
 * is never cut short however long it takes. CPU is a seam here: counted ticks, not the machine's. */
import { StepStalledError, watchStep } from './support/step-watchdog';

describe('step watchdog', () => {
  it('fails a step that never settles, naming it and what the diagnosis says', async () => {
    const never = new Promise<never>(() => undefined);
    const err = await watchStep('external join', () => never, { stallMs: 50, intervalMs: 10, cpuMs: () => 0, diagnose: () => 'requests pending: none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepStalledError);
    expect((err as StepStalledError).step).toBe('external join');
    expect((err as Error).message).toMatch(/^step "external join" stalled: .*active resources: .*; requests pending: none$/);
  });

  it('lets a busy step run past the stall window, and returns its result', async () => {
    let cpu = 0;
    let checks = 0;
    // Every check sees a lot of CPU used since the last: the step is working, not stalled.
    const cpuMs = () => {
      checks++;
      return (cpu += 1_000_000);
    };
    let finish!: (v: string) => void;
    const work = new Promise<string>((r) => (finish = r));
    const running = watchStep('busy', () => work, { stallMs: 30, intervalMs: 10, cpuMs });
    await new Promise<void>((r) => {
      const poll = setInterval(() => checks > 10 && (clearInterval(poll), r()), 5);
    });
    finish('done');
    await expect(running).resolves.toBe('done');
  });
});
