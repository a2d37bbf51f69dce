import { randomBytes } from '../crypto/random';
import { missingKeyReason } from './decrypt-reason';
import { openHistoryBundle, sealHistoryBundle } from './history-bundle';
import { allEpochKeys } from './epoch-keys';
import { InMemoryEpochKeyStore } from './history-keys';

describe('history bundles and missing-key reasons (SDK)', () => {
  const ctx = { tenantId: 'acme', conversationId: 'c1', groupId: 'ab12', epoch: 4n };

  it('seals the earlier epochs of the group under the new epoch key; opens only with it and in its context', async () => {
    const store = new InMemoryEpochKeyStore();
    for (let e = 1n; e <= 5n; e++) store.put('ab12', e, randomBytes(32));
    store.put('other', 1n, randomBytes(32));
    const epochKey = store.get('ab12', 4n)!;
    const sealed = sealHistoryBundle(ctx, epochKey, await allEpochKeys(store));
    const opened = openHistoryBundle(ctx, epochKey, sealed);
    expect(opened.map((k) => k.epoch)).toEqual([1n, 2n, 3n]);
    for (const k of opened) expect(k.key).toEqual(store.get('ab12', k.epoch));
    expect(() => openHistoryBundle(ctx, store.get('ab12', 3n)!, sealed)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
    expect(() => openHistoryBundle({ ...ctx, conversationId: 'c2' }, epochKey, sealed)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
    expect(() => openHistoryBundle({ ...ctx, epoch: 5n }, epochKey, sealed)).toThrow(expect.objectContaining({ code: 'AUTHENTICATION_FAILED' }));
  });

  it('says not_a_member_then before the join (seq) or before a device of the user was in the group (epoch), else key_not_backed_up', () => {
    const joined = { joined_seq: 10, joined_epoch: 3 };
    expect(missingKeyReason({ seq: 10, epoch: 5 }, joined)).toBe('not_a_member_then');
    expect(missingKeyReason({ seq: 11, epoch: 1 }, joined)).toBe('not_a_member_then'); // a member, but no device in the group yet
    expect(missingKeyReason({ seq: 11, epoch: 3 }, joined)).toBe('key_not_backed_up');
    expect(missingKeyReason({ epoch: 2 }, joined)).toBe('not_a_member_then');
    expect(missingKeyReason({ epoch: 3 }, joined)).toBe('key_not_backed_up');
    expect(missingKeyReason({ epoch: 0 }, { joined_seq: 0, joined_epoch: null })).toBe('key_not_backed_up');
  });
});
