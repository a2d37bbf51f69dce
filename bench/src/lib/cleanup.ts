/** Stops whatever the harness started (servers, services, generators) when it is interrupted. */
const pending = new Set<() => Promise<void>>();

/** Registers a stop function; the returned function unregisters it (call it after a normal stop). */
export function onInterrupt(stop: () => Promise<void>): () => void {
  pending.add(stop);
  return () => pending.delete(stop);
}

export function installInterruptHandlers(): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${signal}: stopping servers, services and generators...\n`);
    const all = Promise.allSettled([...pending].reverse().map((stop) => stop()));
    const timeout = new Promise((r) => setTimeout(r, 30_000).unref());
    void Promise.race([all, timeout]).then(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
