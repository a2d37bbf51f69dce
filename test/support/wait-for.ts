export interface WaitForOptions {
  /** Fails after this long (default 5000 ms). A deadline, not a wait: the usual case returns at once. */
  timeoutMs?: number;
  /** Named in the error. */
  what?: string;
  /** Between checks (default 20 ms). */
  intervalMs?: number;
}

/**
 * Waits until `cond` holds, checking it again and again, and fails after the deadline: the way to wait
 * for something to happen when there is no event to listen to. `opts` may be just the timeout
 * (`waitFor(cond, 5000, 'what')`, the older form).
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, opts: number | WaitForOptions = {}, what?: string): Promise<void> {
  const o = typeof opts === 'number' ? { timeoutMs: opts, what } : opts;
  const timeoutMs = o.timeoutMs ?? 5000;
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${o.what ?? 'condition'} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 20));
  }
}
