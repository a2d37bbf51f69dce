import { MlsClient, WELCOME_TREE_MAX_LEAVES } from './client';

// Past WELCOME_TREE_MAX_LEAVES a Welcome leaves the ratchet tree out: the joiner takes it from the
// GroupInfo of the Welcome's epoch, and ts-mls refuses a tree that is not the Welcome's.
jest.setTimeout(120_000);

describe('Welcome without the ratchet tree (large groups)', () => {
  it('joins with the GroupInfo of its epoch, and refuses without it or with another epoch', async () => {
    const device = (i: number) => MlsClient.create({ tenantId: 't', userId: `u${i}`, deviceId: 'd' });
    const creator = await device(0);
    const joiner = await device(1);
    const kps = [...(await joiner.generateKeyPackages(1)), ...(await (await device(9999)).generateKeyPackages(1))];
    for (let i = 2; i <= WELCOME_TREE_MAX_LEAVES; i++) kps.push((await (await device(i)).generateKeyPackages(1))[0]!);
    const groupId = await creator.createGroup();
    const out = await creator.addMembers(groupId, [kps[0]!, ...kps.slice(2)]);
    creator.mergePendingCommit(groupId);
    expect(creator.members(groupId).length).toBeGreaterThan(WELCOME_TREE_MAX_LEAVES);
    // Only the per-joiner secrets (~120 bytes each), not the tree (~340 bytes a leaf on top).
    expect(out.welcome!.length).toBeLessThan(150 * WELCOME_TREE_MAX_LEAVES);

    await expect(joiner.joinFromWelcome(out.welcome!)).rejects.toMatchObject({ code: 'REJECTED' });
    // A GroupInfo of another epoch (another tree) is refused too.
    const later = await creator.addMembers(groupId, [kps[1]!]);
    await expect(joiner.joinFromWelcome(out.welcome!, later.groupInfo)).rejects.toMatchObject({ code: 'REJECTED' });
    creator.discardPendingCommit(groupId);

    expect(await joiner.joinFromWelcome(out.welcome!, out.groupInfo)).toBe(groupId);
    expect(joiner.epoch(groupId)).toBe(1n);
    const msg = await creator.encrypt(groupId, 'hello, large group');
    expect(new TextDecoder().decode((await joiner.receive(groupId, msg)).plaintext)).toBe('hello, large group');
  });
});
