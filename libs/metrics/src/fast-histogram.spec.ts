import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram';

/** The same calls on prom-client's Histogram and on ours, each in its own registry. */
function pair(labelNames: string[], buckets = [0.001, 0.01, 0.1, 1, 2.5]) {
  const theirs = new Registry();
  const ours = new Registry();
  const h = {
    theirs: new Histogram({ name: 'x_seconds', help: 'A "help"\\ text', labelNames, buckets, registers: [theirs] }),
    ours: new FastHistogram('x_seconds', 'A "help"\\ text', labelNames, buckets, ours),
  };
  const both = (fn: (m: any) => void) => {
    fn(h.theirs);
    fn(h.ours);
  };
  const expectSame = async () => {
    const text = await theirs.metrics();
    expect(await ours.metrics()).toBe(text);
    expect(JSON.stringify(await ours.getMetricsAsJSON())).toBe(JSON.stringify(await theirs.getMetricsAsJSON()));
    return text;
  };
  return { h, both, expectSame, registries: { theirs, ours } };
}

const VALUES = [0, -1, -0.5, 0.001, 0.0005, 0.01, 0.05, 0.1, 1, 2.5, 2.5000001, 7, 1e9, 0.1 + 0.2];

describe('FastHistogram against prom-client Histogram', () => {
  it('prints the same text for labeled observations, through observe(labels, v), labels(...) and labels({..})', async () => {
    const { both, expectSame, registries } = pair(['command', 'ok']);
    await expectSame(); // nothing observed: no series
    both((m) => {
      for (const v of VALUES) m.observe({ command: 'find', ok: 'true' }, v);
      m.observe({ ok: 'false', command: 'insert' }, 0.02); // key order of the first observation is kept
      m.observe({ command: 'insert', ok: 'false' }, 3);
      const child = m.labels('update', 'true');
      for (const v of VALUES) child.observe(v);
      m.labels({ command: 'find', ok: 'true' }).observe(0.5);
      m.observe({ command: 'count', ok: 1 }, 0.2); // a number label value is the same series as its string
      m.observe({ command: 'count', ok: '1' }, 0.3);
      m.observe({ command: 'only' }, 0.004); // a missing label is no value
      m.observe({ command: 'only', ok: undefined }, 0.004);
      m.observe({ command: 'quo"te\\back\nline', ok: 'true' }, 0.004);
      m.observe(0.07); // no labels at all on a labeled histogram
    });
    const text = await expectSame();
    expect(text).toContain('x_seconds_bucket{le="+Inf",command="find",ok="true"} 15');
    expect(text).toContain('x_seconds_bucket{le="0.1",ok="false",command="insert"} 1');

    registries.theirs.resetMetrics();
    registries.ours.resetMetrics();
    expect(await expectSame()).not.toContain('x_seconds_bucket');
    both((m) => {
      m.observe({ command: 'update', ok: 'true' }, 0.01); // a series seen before the reset comes back in the new order
      m.observe({ command: 'new', ok: 'true' }, 0.02);
      m.labels('find', 'true').observe(9);
    });
    await expectSame();
  });

  it('prints the same text unlabeled: zeros before any observation, none after a reset until the next', async () => {
    const { h, both, expectSame } = pair([], [1, 2, 4, 8, 16, 32]);
    expect(await expectSame()).toContain('x_seconds_count 0');
    both((m) => VALUES.forEach((v) => m.observe(v)));
    both((m) => m.labels().observe(3));
    await expectSame();
    both((m) => m.reset());
    expect(await expectSame()).not.toContain('x_seconds_count');
    both((m) => m.observe({}, 4));
    await expectSame();
    expect((await h.ours.get()).values).toEqual((await h.theirs.get()).values);
  });

  it('keeps a labels(...) child working across a reset, as prom-client does', async () => {
    const { h, both, expectSame } = pair(['stage']);
    const children = { theirs: h.theirs.labels('wait'), ours: h.ours.labels('wait') };
    children.theirs.observe(0.02);
    children.ours.observe(0.02);
    both((m) => m.reset());
    children.theirs.observe(0.3);
    children.ours.observe(0.3);
    await expectSame();
  });

  it('throws what prom-client throws, and records nothing then', async () => {
    const { h, expectSame } = pair(['stage']);
    const cases: Array<(m: any) => void> = [
      (m) => m.observe({ stage: 'a' }, NaN),
      (m) => m.observe({ stage: 'a' }, Infinity),
      (m) => m.observe(-Infinity),
      (m) => m.observe({ stage: 'a' }, '1'),
      (m) => m.labels('a').observe(NaN),
      (m) => m.observe({ stage: 'a', other: 'b' }, 1),
      (m) => m.labels({ other: 'b' }),
      (m) => m.labels('a', 'b'),
    ];
    for (const call of cases) {
      let theirs: unknown;
      try {
        call(h.theirs);
      } catch (e) {
        theirs = e;
      }
      expect(theirs).toBeInstanceOf(Error);
      expect(() => call(h.ours)).toThrow(theirs as Error);
      expect(() => call(h.ours)).toThrow((theirs as Error).constructor as new () => Error);
    }
    expect(() => h.ours.observe({ stage: 'a' }, NaN)).toThrow(TypeError);
    await expectSame();
  });

  it('refuses an le label and unordered buckets; registers under its name once', () => {
    const registry = new Registry();
    expect(() => new FastHistogram('a', 'h', ['le'], [1], registry)).toThrow('le is a reserved label keyword');
    expect(() => new FastHistogram('a', 'h', [], [1, 1], registry)).toThrow('strictly increasing');
    const h = new FastHistogram('a', 'h', [], [1], registry);
    expect(registry.getSingleMetric('a')).toBe(h);
    expect(() => new FastHistogram('a', 'h', [], [1], registry)).toThrow('already been registered');
  });
});
