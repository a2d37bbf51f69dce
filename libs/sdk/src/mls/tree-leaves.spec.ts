import { ratchetTreeFromExtension } from 'ts-mls/groupInfo.js';
import { MlsClient } from './client';
import { decodeMessage, groupInfoMembers } from './codec';
import { identityToString } from './identity';

// CPU-bound and bounded (5 clients, a few commits: ~0.2 s on a quiet machine), but its first MLS call
// loads ts-mls, which took over 5 s in a CI run with both cores held busy: jest's default is no budget.
jest.setTimeout(60_000);

/** The leaves as ts-mls's full decoder sees them. */
function slowLeaves(groupInfo: Uint8Array): string[] {
  const msg = decodeMessage(groupInfo);
  if (msg.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
  return ratchetTreeFromExtension(msg.groupInfo)!
    .filter((n) => n?.nodeType === 'leaf')
    .map((n) => (n!.nodeType === 'leaf' && n!.leaf.credential.credentialType === 'basic' ? new TextDecoder().decode(n!.leaf.credential.identity) : '?'));
}

const fast = (groupInfo: Uint8Array) => groupInfoMembers(groupInfo)!.map(identityToString);

describe('treeLeafCredentials (fast ratchet tree reader)', () => {
  it('reads the same leaves as ts-mls: adds, an update path, a removal (blank leaf), an external join', async () => {
    const id = (u: string) => ({ tenantId: 't1', userId: u, deviceId: 'd' });
    const alice = await MlsClient.create(id('alice'));
    const others = await Promise.all(['bob', 'carol', 'dave', 'erin'].map((u) => MlsClient.create(id(u))));
    const groupId = await alice.createGroup();
    const kps = (await Promise.all(others.map((c) => c.generateKeyPackages(1)))).flat();
    const added = await alice.addMembers(groupId, kps);
    alice.mergePendingCommit(groupId);
    expect(fast(added.groupInfo)).toEqual(slowLeaves(added.groupInfo));
    expect(fast(added.groupInfo)).toHaveLength(5);

    const removed = await alice.removeMembers(groupId, [id('carol')]);
    alice.mergePendingCommit(groupId);
    expect(fast(removed.groupInfo)).toEqual(slowLeaves(removed.groupInfo));
    expect(fast(removed.groupInfo)).not.toContain('t1/carol/d');

    const updated = await alice.update(groupId);
    alice.mergePendingCommit(groupId);
    expect(fast(updated.groupInfo)).toEqual(slowLeaves(updated.groupInfo));

    const frank = await MlsClient.create(id('frank'));
    const joined = await frank.joinExternal(updated.groupInfo);
    expect(fast(joined.groupInfo)).toEqual(slowLeaves(joined.groupInfo));
    expect(fast(joined.groupInfo)).toContain('t1/frank/d');
  });

  it('refuses truncated bytes instead of guessing', async () => {
    const alice = await MlsClient.create({ tenantId: 't1', userId: 'alice', deviceId: 'd' });
    const groupId = await alice.createGroup();
    const gi = await alice.groupInfo(groupId);
    expect(() => groupInfoMembers(gi.subarray(0, gi.length - 40))).toThrow();
  });
});
