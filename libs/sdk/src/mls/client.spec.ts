import { MlsClient } from './client';
import { inspectGroupInfo, inspectGroupMessage, inspectKeyPackage, inspectWelcome } from './codec';
import { MlsError } from './errors';
import { decodeIdentity, encodeIdentity, identityToString } from './identity';

jest.setTimeout(30_000);

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const device = (userId: string, deviceId: string) => MlsClient.create({ tenantId: 't1', userId, deviceId });

async function expectMlsError(p: Promise<unknown>, code: MlsError['code']): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(MlsError);
  await expect(p).rejects.toMatchObject({ code });
}

/** alice creates a group and adds bob's and carol's devices in one commit; all three are at epoch 1. */
async function threeDeviceGroup() {
  const [alice, bob, carol] = await Promise.all([device('alice', 'phone'), device('bob', 'laptop'), device('carol', 'tab')]);
  const groupId = await alice.createGroup();
  const kps = [...(await bob.generateKeyPackages(1)), ...(await carol.generateKeyPackages(1))];
  const out = await alice.addMembers(groupId, kps);
  expect(out.epoch).toBe(0n);
  expect(alice.epoch(groupId)).toBe(0n); // pending until the server accepts it
  expect(alice.mergePendingCommit(groupId)).toBe(1n);
  expect(await bob.joinFromWelcome(out.welcome!)).toBe(groupId);
  expect(await carol.joinFromWelcome(out.welcome!)).toBe(groupId);
  return { alice, bob, carol, groupId, out };
}

describe('MLS identity', () => {
  it('encodes tenant/user/device and parses only well-formed identities', () => {
    const id = { tenantId: 't1', userId: 'u@x.io', deviceId: 'phone:1' };
    expect(identityToString(id)).toBe('t1/u@x.io/phone:1');
    expect(decodeIdentity(encodeIdentity(id))).toEqual(id);
    expect(() => identityToString({ ...id, userId: 'a/b' })).toThrow(MlsError);
    for (const bad of ['t1/u', 't1/u/d/x', 't1//d', 'a b/u/d']) expect(decodeIdentity(new TextEncoder().encode(bad))).toBeNull();
    expect(decodeIdentity(new Uint8Array([0xff, 0xfe]))).toBeNull();
  });
});

describe('MlsClient (in-process devices)', () => {
  it('a 3-device group exchanges messages', async () => {
    const { alice, bob, carol, groupId } = await threeDeviceGroup();
    for (const c of [alice, bob, carol]) {
      expect(c.epoch(groupId)).toBe(1n);
      expect(c.members(groupId).map((m) => m.userId)).toEqual(['alice', 'bob', 'carol']);
    }
    const fromBob = await bob.encrypt(groupId, 'hello from bob');
    for (const c of [alice, carol]) {
      const r = await c.receive(groupId, fromBob);
      expect(r).toMatchObject({ kind: 'application', epoch: 1n });
      expect(text(r.plaintext)).toBe('hello from bob');
    }
    const fromCarol = await carol.encrypt(groupId, 'and carol');
    expect(text((await alice.receive(groupId, fromCarol)).plaintext)).toBe('and carol');
    expect(text((await bob.receive(groupId, fromCarol)).plaintext)).toBe('and carol');
  });

  it('a removed member cannot decrypt what is sent after the removal', async () => {
    const { alice, bob, carol, groupId } = await threeDeviceGroup();
    const removal = await alice.removeMembers(groupId, [carol.identity]);
    alice.mergePendingCommit(groupId);
    expect((await bob.receive(groupId, removal.commit)).kind).toBe('commit');
    expect(bob.members(groupId).map((m) => m.userId)).toEqual(['alice', 'bob']);
    // Carol processes the commit that removes her: she is out of the tree.
    await carol.receive(groupId, removal.commit).catch(() => undefined);
    const secret = await alice.encrypt(groupId, 'after carol left');
    expect(text((await bob.receive(groupId, secret)).plaintext)).toBe('after carol left');
    await expectMlsError(carol.receive(groupId, secret), 'REJECTED');
  });

  it('a removed member that never saw the removal commit cannot decrypt either', async () => {
    const { alice, bob, carol, groupId } = await threeDeviceGroup();
    const removal = await alice.removeMembers(groupId, [carol.identity]);
    alice.mergePendingCommit(groupId);
    await bob.receive(groupId, removal.commit);
    await expectMlsError(carol.receive(groupId, await alice.encrypt(groupId, 'epoch 2 only')), 'REJECTED');
  });

  it('rejects tampered ciphertext', async () => {
    const { alice, bob, groupId } = await threeDeviceGroup();
    const msg = await alice.encrypt(groupId, 'do not touch');
    const tampered = msg.slice();
    tampered[tampered.length - 5]! ^= 0x01;
    await expectMlsError(bob.receive(groupId, tampered), 'REJECTED');
    // The genuine message still decrypts.
    expect(text((await bob.receive(groupId, msg)).plaintext)).toBe('do not touch');
  });

  it('rejects a replayed commit and a replayed application message', async () => {
    const { alice, bob, groupId } = await threeDeviceGroup();
    const upd = await alice.update(groupId);
    alice.mergePendingCommit(groupId);
    expect((await bob.receive(groupId, upd.commit)).epoch).toBe(2n);
    await expectMlsError(bob.receive(groupId, upd.commit), 'REJECTED');
    expect(bob.epoch(groupId)).toBe(2n);
    const m = await alice.encrypt(groupId, 'once');
    await bob.receive(groupId, m);
    await expectMlsError(bob.receive(groupId, m), 'REJECTED');
  });

  it('discards a pending commit that lost the race, catches up and retries', async () => {
    const { alice, bob, carol, groupId } = await threeDeviceGroup();
    const fromAlice = await alice.update(groupId);
    const fromBob = await bob.update(groupId);
    expect(fromBob.epoch).toBe(fromAlice.epoch);
    await expectMlsError(bob.encrypt(groupId, 'x'), 'PENDING_COMMIT');
    // The server took alice's: bob drops his, processes hers, and commits again at the new epoch.
    alice.mergePendingCommit(groupId);
    bob.discardPendingCommit(groupId);
    await bob.receive(groupId, fromAlice.commit);
    await carol.receive(groupId, fromAlice.commit);
    const retry = await bob.update(groupId);
    expect(retry.epoch).toBe(2n);
    bob.mergePendingCommit(groupId);
    await alice.receive(groupId, retry.commit);
    const m = await carol.receive(groupId, retry.commit);
    expect(m.epoch).toBe(3n);
    expect(text((await carol.receive(groupId, await alice.encrypt(groupId, 'in sync'))).plaintext)).toBe('in sync');
  });

  it('joins by external commit from the latest GroupInfo', async () => {
    const { alice, bob, groupId } = await threeDeviceGroup();
    const dave = await device('dave', 'web');
    const join = await dave.joinExternal(await alice.groupInfo(groupId));
    expect(join.epoch).toBe(1n);
    expect(dave.hasGroup(groupId)).toBe(false); // pending until the server accepts it
    expect(dave.mergePendingCommit(groupId)).toBe(2n);
    await alice.receive(groupId, join.commit);
    await bob.receive(groupId, join.commit);
    expect(alice.members(groupId).map((m) => m.userId)).toContain('dave');
    expect(text((await alice.receive(groupId, await dave.encrypt(groupId, 'hi, I joined'))).plaintext)).toBe('hi, I joined');
  });

  it('refuses members of another tenant (credential check of the client)', async () => {
    const alice = await device('alice', 'phone');
    const groupId = await alice.createGroup();
    const mallory = await MlsClient.create({ tenantId: 't2', userId: 'mallory', deviceId: 'd' });
    await expectMlsError(alice.addMembers(groupId, await mallory.generateKeyPackages(1)), 'REJECTED');
  });

  it('inspects what a Delivery Service reads in the clear, without keys', async () => {
    const { alice, bob, groupId, out } = await threeDeviceGroup();
    const [kp] = await bob.generateKeyPackages(1);
    const info = await inspectKeyPackage(kp!);
    expect(info.identity).toEqual(bob.identity);
    expect(info.ref).toMatch(/^[0-9a-f]{64}$/);
    expect(inspectWelcome(out.welcome!).newMembers).toHaveLength(2);
    expect(inspectGroupInfo(out.groupInfo)).toEqual({ groupId, epoch: 1n });
    expect(inspectGroupMessage(out.commit)).toMatchObject({ kind: 'commit', groupId, epoch: 0n });
    expect(inspectGroupMessage(await alice.encrypt(groupId, 'x'))).toMatchObject({ kind: 'application', groupId, epoch: 1n });
    // A key package whose signature no longer verifies, garbage, and the wrong kind of message.
    const forged = kp!.slice();
    forged[forged.length - 3]! ^= 0x01;
    await expectMlsError(inspectKeyPackage(forged), 'INVALID_INPUT');
    await expectMlsError(inspectKeyPackage(new Uint8Array([1, 2, 3])), 'INVALID_INPUT');
    await expectMlsError(inspectKeyPackage(out.welcome!), 'INVALID_INPUT');
    expect(() => inspectGroupMessage(kp!)).toThrow(MlsError);
  });
});
