/**
 * Targets measured side by side. B: bare socket.io relay; B+db: relay plus one insert per message;
 * project+webhook: the project with an active webhook endpoint (a receiver on loopback) subscribed to
 * message.new for the bench tenant, so every message also records and delivers one webhook.
 */
export type Target = 'noop' | 'B' | 'B+db' | 'project' | 'project+webhook' | 'project+webhook-worker';

/** Whether the target runs the project (with or without a webhook endpoint). */
export const isProject = (t: Target): boolean => t === 'project' || t === 'project+webhook' || t === 'project+webhook-worker';
/** Targets with a webhook endpoint subscribed (a receiver on loopback); `-worker`: delivered by the all-in-one's child process (WEBHOOK_DELIVERY_WORKER). */
export const hasWebhook = (t: Target): boolean => t === 'project+webhook' || t === 'project+webhook-worker';

export interface RunFigures {
  target: Target;
  round: number;
  /** Headline figures by key (see MetricDef). */
  figures: Record<string, number | null>;
  /** Set when the run does not count (generator saturated, server died...). */
  discarded?: string;
}

export interface MetricDef {
  key: string;
  label: string;
  /** true when a bigger number is better (throughput); false for latency, CPU, memory. */
  higherIsBetter: boolean;
  digits?: number;
}

export function median(values: number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Median of one figure over the counted (not discarded) runs of a target. */
export function medianOf(runs: RunFigures[], target: Target, key: string): number | null {
  const values = runs
    .filter((r) => r.target === target && !r.discarded)
    .map((r) => r.figures[key])
    .filter((x): x is number => typeof x === 'number');
  return median(values);
}

export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  return a / b;
}

export interface RatioRow {
  label: string;
  B: number | null;
  Bdb: number | null;
  project: number | null;
  projectOverB: number | null;
  projectOverBdb: number | null;
  BdbOverB: number | null;
}

/** One row per metric: medians per target and the project's figure as a ratio to B and to B+db. */
export function ratioRows(runs: RunFigures[], metrics: MetricDef[]): RatioRow[] {
  return metrics.map((m) => {
    const B = medianOf(runs, 'B', m.key);
    const Bdb = medianOf(runs, 'B+db', m.key);
    const project = medianOf(runs, 'project', m.key);
    return { label: m.label, B, Bdb, project, projectOverB: ratio(project, B), projectOverBdb: ratio(project, Bdb), BdbOverB: ratio(Bdb, B) };
  });
}

export function fmt(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(digits);
}

export function fmtRatio(v: number | null): string {
  return v === null ? '–' : `${v.toFixed(2)}×`;
}

/** A Markdown table (also readable in a terminal). */
export function markdownTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export function ratioTable(runs: RunFigures[], metrics: MetricDef[]): string {
  const rows = ratioRows(runs, metrics).map((r, i) => {
    const d = metrics[i]!.digits ?? 1;
    return [r.label, fmt(r.B, d), fmt(r.Bdb, d), fmt(r.project, d), fmtRatio(r.projectOverB), fmtRatio(r.projectOverBdb), fmtRatio(r.BdbOverB)];
  });
  return markdownTable(['metric (median of counted runs)', 'B', 'B+db', 'project', 'project/B', 'project/B+db', 'B+db/B'], rows);
}

/** The project with a webhook endpoint against the project without, metric by metric (medians of one invocation). */
export function webhookRatioTable(runs: RunFigures[], metrics: MetricDef[]): string {
  const hooked = (['project+webhook', 'project+webhook-worker'] as const).filter((t) => runs.some((r) => r.target === t));
  const rows = metrics.map((m) => {
    const d = m.digits ?? 1;
    const without = medianOf(runs, 'project', m.key);
    const withHook = hooked.map((t) => medianOf(runs, t, m.key));
    return [m.label, fmt(without, d), ...withHook.map((v) => fmt(v, d)), ...withHook.map((v) => fmtRatio(ratio(v, without)))];
  });
  return markdownTable(['metric (median of counted runs)', 'project', ...hooked, ...hooked.map((t) => `${t}/project`)], rows);
}

/** Every run, in the order it ran, with its figures (discarded runs marked). */
export function runsTable(runs: RunFigures[], metrics: MetricDef[]): string {
  const rows = runs.map((r) => [
    String(r.round),
    r.target,
    ...metrics.map((m) => fmt(r.figures[m.key] ?? null, m.digits ?? 1)),
    r.discarded ? `DISCARDED: ${r.discarded}` : 'ok',
  ]);
  return markdownTable(['round', 'target', ...metrics.map((m) => m.label), 'status'], rows);
}

/** The order runs happen in: B, B+db, project, B, B+db, project... (targets missing from the list are skipped). */
export function runOrder(targets: Target[], rounds: number): Array<{ target: Target; round: number }> {
  const order: Target[] = ['noop', 'B', 'B+db', 'project', 'project+webhook', 'project+webhook-worker'];
  const chosen = order.filter((t) => targets.includes(t));
  const out: Array<{ target: Target; round: number }> = [];
  for (let round = 1; round <= rounds; round++) for (const target of chosen) out.push({ target, round });
  return out;
}
