import { ChatState } from './chat-state';
import { InMemoryMlsStateStore } from './state-store';

const key = (b: number) => new Uint8Array(32).fill(b);

describe('ChatState', () => {
  it('knows who was in the tree at each epoch it saw, across a restart', async () => {
    const store = new InMemoryMlsStateStore();
    const s = new ChatState(store);
    await s.recordRoster('g', 3n, new Map([['t/a/d', key(1)]]));
    await s.recordRoster('g', 4n, new Map([['t/a/d', key(1)], ['t/b/d', key(2)]]));
    await s.recordRoster('g', 6n, new Map([['t/b/d', key(2)]]));
    s.convs.set('c1', { groupId: 'g', readSeq: 9, joinedEpoch: 3n, ahead: new Map([[7, 'Y29tbWl0']]) });
    await s.saveConv('c1');

    const again = new ChatState(store);
    await again.load((g) => g === 'g');
    for (const st of [s, again]) {
      expect(st.signerAt('g', 2n, 't/a/d')).toBeUndefined(); // before this device's first epoch: nothing known
      expect(st.signerAt('g', 3n, 't/a/d')).toEqual(key(1));
      expect(st.signerAt('g', 3n, 't/b/d')).toBeNull();
      expect(st.signerAt('g', 5n, 't/b/d')).toEqual(key(2));
      expect(st.signerAt('g', 5n, 't/a/d')).toEqual(key(1));
      expect(st.signerAt('g', 6n, 't/a/d')).toBeNull(); // removed at 6
      expect(st.signerAt('g', 9n, 't/b/d')).toEqual(key(2));
    }
    expect(again.convs.get('c1')).toEqual({ groupId: 'g', readSeq: 9, joinedEpoch: 3n, ahead: new Map([[7, 'Y29tbWl0']]) });

    // A conversation whose group the MLS client no longer holds is not restored (it is joined again).
    const lost = new ChatState(store);
    await lost.load(() => false);
    expect(lost.convs.size).toBe(0);
  });

  it('a device whose key changed is a new entry; unreadable records are skipped', async () => {
    const store = new InMemoryMlsStateStore();
    const s = new ChatState(store);
    await s.recordRoster('g', 1n, new Map([['t/a/d', key(1)]]));
    await s.recordRoster('g', 2n, new Map([['t/a/d', key(9)]]));
    expect(s.signerAt('g', 1n, 't/a/d')).toEqual(key(1));
    expect(s.signerAt('g', 2n, 't/a/d')).toEqual(key(9));
    await store.put('conv/bad', new TextEncoder().encode('{not json'));
    await store.put('roster/bad', new TextEncoder().encode('nope'));
    const again = new ChatState(store);
    await again.load(() => true);
    expect(again.convs.size).toBe(0);
    expect(again.signerAt('g', 2n, 't/a/d')).toEqual(key(9));
  });
});
