import { type CpuProfile, type HotSpot, ownerOf } from './cpuprofile';

type Node = CpuProfile['nodes'][number] & { children?: number[] };

function keyOf(n: Node): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${ownerOf(url, functionName)} ${url.split('/').pop()}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

/**
 * The n functions with the most inclusive time (their own and their callees'), each counted once per
 * sample however often it recurses: which phase of an operation costs what. Percent of all samples.
 */
export function inclusiveTop(p: CpuProfile, n = 20): HotSpot[] {
  const nodes = p.nodes as Node[];
  const parent = new Map<number, number>();
  for (const node of nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const byId = new Map(nodes.map((x) => [x.id, x]));
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const total = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < samples.length; i++) {
    const us = Math.max(0, deltas[i + 1] ?? 0);
    all += us;
    const seen = new Set<string>();
    for (let id: number | undefined = samples[i]; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (!node) break;
      const k = keyOf(node);
      if (k.startsWith('(root)') || seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  }
  return [...total]
    .filter(([k]) => !/^\((idle|program|garbage collector)\)/.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, pct: all ? Math.round((1000 * us) / all) / 10 : 0 }));
}
