/** The parts of a V8 .cpuprofile (node --cpu-prof) that hot-spot summaries need. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  name: string;
  selfMs: number;
  pct: number;
}

/** Self time in µs by node id, from the sample timeline (falls back to hit counts). */
export function selfMicros(p: CpuProfile): Map<number, number> {
  const out = new Map<number, number>();
  if (p.samples?.length && p.timeDeltas?.length === p.samples.length) {
    // timeDeltas[i] is the time before sample i; charge it to the sample after it, as Chrome DevTools does.
    for (let i = 0; i < p.samples.length; i++) {
      const next = p.timeDeltas[i + 1] ?? 0;
      out.set(p.samples[i]!, (out.get(p.samples[i]!) ?? 0) + Math.max(0, next));
    }
    return out;
  }
  const total = p.endTime - p.startTime;
  const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  for (const n of p.nodes) out.set(n.id, ((n.hitCount ?? 0) * total) / hits);
  return out;
}

/** Where a frame's code lives: an npm package, node's own code, the project, or V8 (GC, idle, program). */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const own = /\/(apps|libs)\/([^/]+)\//.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  return url.replace(/^file:\/\//, '');
}

function rank(m: Map<string, number>, totalUs: number, n: number): HotSpot[] {
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, pct: totalUs ? Math.round((1000 * us) / totalUs) / 10 : 0 }));
}

/** The n functions with the most self time (program, idle and GC included, so percentages add up). */
export function topFunctions(p: CpuProfile, n = 20): HotSpot[] {
  const self = selfMicros(p);
  const byFn = new Map<string, number>();
  let total = 0;
  for (const node of p.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${ownerOf(url, functionName)} ${url.split('/').pop()}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  return rank(byFn, total, n);
}

/** Self time by owner (package / project lib / node internals / V8). */
export function byOwner(p: CpuProfile, n = 15): HotSpot[] {
  const self = selfMicros(p);
  const m = new Map<string, number>();
  let total = 0;
  for (const node of p.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    total += us;
    const k = ownerOf(node.callFrame.url, node.callFrame.functionName);
    m.set(k, (m.get(k) ?? 0) + us);
  }
  return rank(m, total, n);
}
