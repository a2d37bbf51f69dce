import { markdownTable, median, medianOf, ratioRows, ratioTable, runOrder, RunFigures, runsTable } from './report';

const runs: RunFigures[] = [
  { target: 'B', round: 1, figures: { rate: 1000, p99: 2 } },
  { target: 'B+db', round: 1, figures: { rate: 500, p99: 8 } },
  { target: 'project', round: 1, figures: { rate: 250, p99: 20 } },
  { target: 'B', round: 2, figures: { rate: 1200, p99: 4 } },
  { target: 'B+db', round: 2, figures: { rate: 9999, p99: 1 }, discarded: 'generator saturated' },
  { target: 'project', round: 2, figures: { rate: 350, p99: null } },
];
const metrics = [
  { key: 'rate', label: 'msgs/s', higherIsBetter: true, digits: 0 },
  { key: 'p99', label: 'ack p99 ms', higherIsBetter: false },
];

describe('ratio tables', () => {
  it('takes medians over counted runs only', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
    expect(medianOf(runs, 'B', 'rate')).toBe(1100);
    expect(medianOf(runs, 'B+db', 'rate')).toBe(500); // the discarded run is left out
    expect(medianOf(runs, 'project', 'p99')).toBe(20); // null figures are left out
  });

  it('divides the project by B and by B+db', () => {
    const [rate, p99] = ratioRows(runs, metrics);
    expect(rate!.projectOverB).toBeCloseTo(300 / 1100);
    expect(rate!.projectOverBdb).toBeCloseTo(0.6);
    expect(rate!.BdbOverB).toBeCloseTo(500 / 1100);
    expect(p99!.projectOverB).toBeCloseTo(20 / 3);
    expect(p99!.projectOverBdb).toBeCloseTo(2.5);
  });

  it('prints a dash where a target did not run', () => {
    const table = ratioTable(runs.filter((r) => r.target !== 'project'), metrics);
    expect(table).toContain('| msgs/s');
    expect(table.split('\n')[2]).toMatch(/1,100 \| 500 +\| – +\| – +\| – +\| 0\.45×/);
  });

  it('lists every run with its status', () => {
    const t = runsTable(runs, metrics);
    expect(t.split('\n')).toHaveLength(2 + runs.length);
    expect(t).toContain('DISCARDED: generator saturated');
  });

  it('formats aligned markdown', () => {
    expect(markdownTable(['a', 'bb'], [['1', '2']])).toBe('| a | bb |\n| - | -- |\n| 1 | 2  |');
  });

  it('alternates targets round by round', () => {
    expect(runOrder(['project', 'B'], 2)).toEqual([
      { target: 'B', round: 1 },
      { target: 'project', round: 1 },
      { target: 'B', round: 2 },
      { target: 'project', round: 2 },
    ]);
  });
});
