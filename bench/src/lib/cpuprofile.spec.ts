import { byOwner, ownerOf, topFunctions, type CpuProfile } from './cpuprofile';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', '') },
    { id: 2, callFrame: frame('(garbage collector)', '') },
    { id: 3, callFrame: frame('insert', 'file:///r/node_modules/mongodb/lib/x.js', 9) },
    { id: 4, callFrame: frame('send', 'file:///r/dist/libs/chat/src/messages/s.js', 41) },
    { id: 5, callFrame: frame('emit', 'node:events', 1) },
    { id: 6, callFrame: frame('encode', 'file:///r/node_modules/@socket.io/redis-adapter/dist/i.js', 3) },
  ],
  samples: [3, 3, 4, 2, 5, 6, 3],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000],
  startTime: 0,
  endTime: 7000,
};

describe('cpu profile hot spots', () => {
  it('names the owner of a frame', () => {
    expect(ownerOf('file:///r/node_modules/@socket.io/redis-adapter/dist/i.js', 'x')).toBe('@socket.io/redis-adapter');
    expect(ownerOf('node:events', 'emit')).toBe('node:internal');
    expect(ownerOf('file:///r/dist/libs/chat/src/a.js', 'f')).toBe('libs/chat');
    expect(ownerOf('', '(garbage collector)')).toBe('(garbage collector)');
  });

  it('ranks functions by self time', () => {
    const top = topFunctions(profile, 2);
    expect(top[0]!.name).toMatch(/^insert mongodb x\.js:10$/);
    expect(top[0]!.selfMs).toBe(2);
    expect(top[0]!.pct).toBeCloseTo(33.3, 1);
  });

  it('groups self time by owner', () => {
    const owners = byOwner(profile);
    expect(owners.map((o) => o.name)).toContain('libs/chat');
    expect(owners[0]).toEqual({ name: 'mongodb', selfMs: 2, pct: 33.3 });
  });
});
