import { commandsBetween, parseCommandStats } from './redis-commands';

describe('redis command counts', () => {
  it('parses INFO commandstats and subtracts the INFO call itself', () => {
    const before = parseCommandStats('# Commandstats\r\ncmdstat_get:calls=10,usec=5,usec_per_call=0.5\r\ncmdstat_info:calls=1,usec=9\r\n');
    const after = parseCommandStats('# Commandstats\r\ncmdstat_get:calls=25,usec=9\r\ncmdstat_evalsha:calls=3,usec=4\r\ncmdstat_info:calls=2,usec=18\r\n');
    expect([...commandsBetween(before, after)]).toEqual([
      ['get', 15],
      ['evalsha', 3],
    ]);
  });
});
