import { format, inspect } from 'node:util';
import { register, type Metric, type Registry } from 'prom-client';

/**
 * A Prometheus histogram whose `observe` is a few array operations, registered in prom-client's registry
 * so GET /metrics, `getMetricsAsJSON`, `resetMetrics` and `getSingleMetric` treat it as one of theirs.
 *
 * Why not prom-client's Histogram (the project's rule is a kept library first): its `observe` validates
 * the labels, builds a string hash of them and looks that up in an object on every call, even through a
 * `labels(...)` child, then indexes the bucket counts by the bound as a property key (a number turned
 * into a string). In CPU profiles of the server at 200 direct msgs/s (Node 24) that was 30–58 µs of CPU per
 * message (~10 observes), this class 7–12 (bench/RESULTS.md, "Histograms"); in process
 * (bench/src/histogram-observe-cost.ts) 200–450 ns per observe against 18–55. Here a series is found by one
 * Map lookup per label (none when the histogram has no labels, none through a held `labels(...)` child)
 * and holds its bucket counts in a Float64Array.
 *
 * What it prints is what prom-client's Histogram prints for the same observations (fast-histogram.spec.ts
 * compares the two): series in the order of their first observation since the last reset, each with the
 * labels object it was first observed with (key order included), cumulative `_bucket` lines ending in
 * `le="+Inf"`, then `_sum` and `_count`; an unlabeled histogram shows zeros until its first reset. The
 * same errors are thrown (an unknown label name, a non-finite value). No exemplars, no `zero`/`remove`.
 * Buckets must be strictly increasing.
 */
export type LabelValues = Partial<Record<string, string | number>>;

export interface HistogramChild {
  observe(value: number): void;
  startTimer(): (labels?: LabelValues) => number;
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** One node per label name, in `labelNames` order; the leaves are series. Values are compared as prom-client's hash does (5 and '5' alike). */
  private readonly root = new Map<unknown, unknown>();
  /** The series observed since the last reset, in that order (what /metrics shows). */
  private readonly shown: Series[] = [];
  private readonly unlabeled: Series | null;
  /** A copy of the buckets: prom-client freezes the array it is given, and frozen elements are slow to read. */
  readonly bounds: Float64Array;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
    registry: Registry = register,
  ) {
    if (labelNames.includes('le')) throw new Error('le is a reserved label keyword');
    if (buckets.some((b, i) => i > 0 && !(b > buckets[i - 1]))) throw new Error(`${name}: buckets must be strictly increasing`);
    this.bounds = Float64Array.from(buckets);
    this.unlabeled = labelNames.length ? null : new Series(this, {});
    if (this.unlabeled) this.shown.push(this.unlabeled);
    registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void;
  observe(labels: LabelValues, value: number): void;
  observe(labels: LabelValues | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) {
      this.validate(labels);
      return this.series(labels).observe(value as number);
    }
    // As prom-client: observe(v), and observe(undefined | null, v) without labels.
    this.series(NO_LABELS).observe((labels || labels === 0 ? labels : value) as number);
  }

  labels(...values: Array<string | number | LabelValues>): HistogramChild {
    const first = values[0];
    if (typeof first === 'object' && first !== null) {
      this.validate(first);
      return this.series(first);
    }
    const names = this.labelNames;
    if (names.length !== values.length) {
      throw new Error(`Invalid number of arguments (${values.length}): "${values.join(', ')}" for label names (${names.length}): "${names.join(', ')}".`);
    }
    if (names.length === 1) return (this.root.get(keyOf(first)) as Series | undefined) ?? this.add(this.root, first, { [names[0]]: first });
    const labels: LabelValues = {};
    names.forEach((n, i) => (labels[n] = values[i] as string | number));
    return this.series(labels);
  }

  startTimer(labels?: LabelValues): (labels?: LabelValues) => number {
    const start = process.hrtime.bigint();
    return (end) => {
      const value = Number(process.hrtime.bigint() - start) / 1e9;
      this.observe({ ...labels, ...end }, value);
      return value;
    };
  }

  reset(): void {
    for (const s of this.shown) s.clear();
    this.shown.length = 0;
  }

  /** What prom-client's Histogram.getForPromString returns: the registry formats /metrics from it. */
  getForPromString() {
    const bucket = `${this.name}_bucket`;
    const values: object[] = [];
    for (const s of this.shown) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: bucket, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** What prom-client's Histogram.get returns (getMetricsAsJSON): each value's labels with the series' labels merged in. */
  async get() {
    const data = this.getForPromString();
    const values = data.values.map((v) => {
      const { sharedLabels, labels, ...rest } = v as { sharedLabels: LabelValues; labels: LabelValues };
      return { ...rest, labels: { ...labels, ...sharedLabels } };
    });
    return { ...data, values };
  }

  /** @internal A series' first observation since the last reset. */
  show(s: Series): void {
    this.shown.push(s);
  }

  private validate(labels: LabelValues): void {
    for (const label in labels) {
      if (!this.labelNames.includes(label)) throw new Error(`Added label "${label}" is not included in initial labelset: ${inspect(this.labelNames)}`);
    }
  }

  private series(labels: LabelValues): Series {
    if (this.unlabeled) return this.unlabeled;
    const names = this.labelNames;
    const last = names.length - 1;
    let node = this.root;
    for (let i = 0; i < last; i++) {
      const key = keyOf(labels[names[i]]);
      let next = node.get(key) as Map<unknown, unknown> | undefined;
      if (!next) node.set(key, (next = new Map()));
      node = next;
    }
    const value = labels[names[last]];
    return (node.get(keyOf(value)) as Series | undefined) ?? this.add(node, value, { ...labels });
  }

  private add(node: Map<unknown, unknown>, value: unknown, labels: LabelValues): Series {
    const s = new Series(this, labels);
    node.set(keyOf(value), s);
    return s;
  }
}

const NO_LABELS: LabelValues = Object.freeze({});

/** prom-client's label hash is `${name}:${value},` over the defined values: 5 and '5' are one series, undefined is no value. */
function keyOf(value: unknown): unknown {
  return value === undefined || typeof value === 'string' ? value : String(value);
}

/** One label-value combination: the `labels(...)` child, too. */
class Series implements HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private shown: boolean;

  constructor(
    private readonly owner: FastHistogram,
    readonly labels: LabelValues,
  ) {
    this.counts = new Float64Array(owner.bounds.length);
    this.shown = owner.labelNames.length === 0;
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${format(value)}`);
    const bounds = this.owner.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    if (i < bounds.length) this.counts[i]++;
    this.sum += value;
    this.count += 1;
    if (!this.shown) {
      this.shown = true;
      this.owner.show(this);
    }
  }

  startTimer(): (labels?: LabelValues) => number {
    return this.owner.startTimer(this.labels);
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.shown = false;
  }
}
