import { cpuPercent, parseCpuLines, parseProcStat, summarizeSamples } from './proc';

describe('/proc parsing', () => {
  it('reads utime+stime and rss even when the command name has spaces and parentheses', () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal start vsize rss
    const line = '1234 (node (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 999 1000000 2560 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ cpuTicks: 300, rssBytes: 2560 * 4096 });
  });

  it('computes per-core busy ticks from /proc/stat', () => {
    const text = 'cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 35 5 0 0 0 0 0\nintr 1';
    const m = parseCpuLines(text);
    expect(m.get(0)).toEqual({ busy: 10, total: 50 });
    expect(m.get(1)).toEqual({ busy: 10, total: 50 });
    expect(m.has(2)).toBe(false);
  });

  it('turns tick deltas into percent of one core', () => {
    expect(cpuPercent({ cpuTicks: 0, rssBytes: 0 }, { cpuTicks: 50, rssBytes: 0 }, 1000)).toBe(50);
    expect(cpuPercent({ cpuTicks: 0, rssBytes: 0 }, { cpuTicks: 50, rssBytes: 0 }, 0)).toBe(0);
  });

  it('summarizes a sample series', () => {
    const mb = 2 ** 20;
    const s = summarizeSamples([
      { tMs: 0, stat: { cpuTicks: 0, rssBytes: 10 * mb } },
      { tMs: 1000, stat: { cpuTicks: 90, rssBytes: 30 * mb } },
      { tMs: 2000, stat: { cpuTicks: 100, rssBytes: 20 * mb } },
    ]);
    expect(s).toEqual({ avgCpuPct: 50, cpuSeconds: 1, maxCpuPct: 90, maxRssMb: 30, lastRssMb: 20 });
  });
});
