import { WebSocket } from 'ws';

/**
 * A CPU profile of the measured window only (`--cpu-prof-window`): the server runs with
 * `--inspect=127.0.0.1:<port>` and the harness drives V8's profiler over the inspector protocol
 * (Profiler.start when the warm-up ends, Profiler.stop when the last message is due). `--cpu-prof`
 * records the whole process instead: start-up, provisioning and connection set-up included, which at
 * a few hundred messages per second is most of its samples.
 */
export class WindowProfiler {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly inspectPort: number) {}

  /** Attaches to the server's inspector and enables the profiler (before the phase, so the window's start costs nothing). */
  async attach(samplingIntervalUs = 1000): Promise<void> {
    const list = (await (await fetch(`http://127.0.0.1:${this.inspectPort}/json/list`, { signal: AbortSignal.timeout(5000) })).json()) as Array<{
      webSocketDebuggerUrl?: string;
    }>;
    const url = list.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no inspector target on port ${this.inspectPort}`);
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(msg.error.message));
      else w.resolve(msg.result);
    });
    ws.on('close', () => {
      for (const w of this.waiting.values()) w.reject(new Error('inspector connection closed'));
      this.waiting.clear();
    });
    this.ws = ws;
    await this.call('Profiler.enable');
    await this.call('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  }

  /**
   * With `BENCH_HEAP_SAMPLE=1`, V8's allocation sampler runs over the same window (every allocation,
   * the ones already collected included: where the GC's work comes from); see `heapProfile`.
   */
  private readonly heapSampling = process.env.BENCH_HEAP_SAMPLE === '1';
  /** The window's allocation sampling profile (.heapprofile JSON), when `BENCH_HEAP_SAMPLE=1`. */
  heapProfile: unknown = null;

  async start(): Promise<unknown> {
    if (this.heapSampling) {
      await this.call('HeapProfiler.enable');
      await this.call('HeapProfiler.startSampling', {
        samplingInterval: 16384,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    }
    return this.call('Profiler.start');
  }

  /** Stops the profiler and returns the profile (the .cpuprofile JSON). */
  async stop(): Promise<unknown> {
    const r = (await this.call('Profiler.stop')) as { profile: unknown };
    if (this.heapSampling) this.heapProfile = ((await this.call('HeapProfiler.stopSampling')) as { profile: unknown }).profile;
    return r.profile;
  }

  close(): void {
    this.ws?.close();
    this.ws = null;
  }

  private call(method: string, params?: Record<string, unknown>): Promise<unknown> {
    const ws = this.ws;
    if (!ws) return Promise.reject(new Error('profiler not attached'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  }
}
