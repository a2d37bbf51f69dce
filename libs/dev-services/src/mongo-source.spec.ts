import { MONGOD_DOWNLOAD_PROBE_MS, MongodProbe, pickMongoSource } from './mongo-source';

function probe(o: { installed?: boolean; local?: string; reachable?: boolean }, asked: number[] = []): MongodProbe {
  return {
    memoryServerInstalled: async () => o.installed ?? true,
    localMongod: async () => o.local,
    downloadReachable: async (ms) => {
      asked.push(ms);
      return o.reachable ?? false;
    },
  };
}

describe('pickMongoSource', () => {
  it('prefers MONGODB_URI, then a real mongod (on this machine, or downloadable), then FerretDB', async () => {
    expect((await pickMongoSource({ MONGODB_URI: 'mongodb://x' }, probe({ local: '/bin/mongod' }))).source).toBe('uri');
    expect(await pickMongoSource({}, probe({ local: '/usr/bin/mongod' }))).toEqual({ source: 'memory-server', reason: 'mongod found at /usr/bin/mongod' });
    expect((await pickMongoSource({}, probe({ reachable: true }))).source).toBe('memory-server');
    expect((await pickMongoSource({}, probe({ reachable: false }))).source).toBe('ferretdb');
    expect((await pickMongoSource({}, probe({ installed: false, local: '/usr/bin/mongod' }))).source).toBe('ferretdb');
  });

  it('asks the download host only when no mongod is on the machine, with a short timeout', async () => {
    const asked: number[] = [];
    await pickMongoSource({}, probe({ local: '/usr/bin/mongod' }, asked));
    expect(asked).toEqual([]);
    await pickMongoSource({}, probe({}, asked));
    expect(asked).toEqual([MONGOD_DOWNLOAD_PROBE_MS]);
    expect(MONGOD_DOWNLOAD_PROBE_MS).toBeLessThanOrEqual(5000);
  });
});
