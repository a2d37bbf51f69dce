import { InMemoryMlsStateStore } from './state-store';

describe('InMemoryMlsStateStore', () => {
  it('puts, gets, lists by prefix and deletes, copying values in and out', async () => {
    const s = new InMemoryMlsStateStore();
    const v = new Uint8Array([1, 2, 3]);
    await s.put('group/a', v);
    await s.put('group/b', new Uint8Array([4]));
    await s.put('conv/x', new Uint8Array([5]));
    v[0] = 9;
    const got = (await s.get('group/a'))!;
    expect([...got]).toEqual([1, 2, 3]);
    got[1] = 9;
    expect([...(await s.get('group/a'))!]).toEqual([1, 2, 3]);
    expect((await s.keys('group/')).sort()).toEqual(['group/a', 'group/b']);
    expect(await s.keys('')).toHaveLength(3);
    await s.delete('group/a');
    await s.delete('nothing');
    expect(await s.get('group/a')).toBeUndefined();
    expect(await s.keys('group/')).toEqual(['group/b']);
  });
});
