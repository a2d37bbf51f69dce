/* MlsClient over an MlsStateStore: a client made again over the same store (a restarted device) goes on
 * in its groups, joins from a Welcome for a key package it published before the restart, and never
 * encrypts with a ratchet generation it used before. */
import { MlsClient } from './client';
import { DEVICE_KEY, decodeGroup } from './client-store';
import { MlsError } from './errors';
import { InMemoryMlsStateStore } from './state-store';

jest.setTimeout(30_000);

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const id = (userId: string) => ({ tenantId: 't1', userId, deviceId: 'd1' });

describe('MlsClient with a state store', () => {
  it('a restarted device keeps its key, its published key packages and its groups', async () => {
    const aliceStore = new InMemoryMlsStateStore();
    const bobStore = new InMemoryMlsStateStore();
    let alice = await MlsClient.create(id('alice'), { store: aliceStore });
    let bob = await MlsClient.create(id('bob'), { store: bobStore });
    const [kp] = await bob.generateKeyPackages(1);
    expect(await bobStore.keys('kp/')).toHaveLength(1);

    bob = await MlsClient.create(id('bob'), { store: bobStore }); // restarted before anyone used the key package
    expect(bob.unusedKeyPackages).toBe(1);

    const groupId = await alice.createGroup();
    const add = await alice.addMembers(groupId, [kp!]);
    alice.mergePendingCommit(groupId);
    expect(await bob.joinFromWelcome(add.welcome!)).toBe(groupId);
    await Promise.all([alice.flush(), bob.flush()]);
    expect(await bobStore.keys('kp/')).toEqual([]); // one-time: spent, private keys deleted

    const m1 = await alice.encrypt(groupId, 'before the restart');
    expect(text((await bob.receive(groupId, m1)).plaintext)).toBe('before the restart');

    // Both restart: same signature key, same epoch, and alice's next message uses a new generation
    // (had she restarted from the state before m1, bob would refuse the reused generation).
    const signed = await alice.signWithLeafKey(new Uint8Array([1]));
    alice = await MlsClient.create(id('alice'), { store: aliceStore });
    bob = await MlsClient.create(id('bob'), { store: bobStore });
    expect(await alice.signWithLeafKey(new Uint8Array([1]))).toEqual(signed);
    expect(alice.epoch(groupId)).toBe(1n);
    expect(bob.members(groupId).map((m) => m.userId)).toEqual(['alice', 'bob']);
    const m2 = await alice.encrypt(groupId, 'after the restart');
    expect(text((await bob.receive(groupId, m2)).plaintext)).toBe('after the restart');
    const m3 = await bob.encrypt(groupId, 'and back');
    expect(text((await alice.receive(groupId, m3)).plaintext)).toBe('and back');

    // Commits after the restart, and the epoch they reach survives another restart.
    const upd = await bob.update(groupId);
    bob.mergePendingCommit(groupId);
    await alice.receive(groupId, upd.commit);
    await bob.flush();
    alice = await MlsClient.create(id('alice'), { store: aliceStore });
    bob = await MlsClient.create(id('bob'), { store: bobStore });
    expect([alice.epoch(groupId), bob.epoch(groupId)]).toEqual([2n, 2n]);
    expect((await alice.exportEpochKey(groupId)).key).toEqual((await bob.exportEpochKey(groupId)).key);
    const m4 = await alice.encrypt(groupId, 'epoch 2');
    expect(text((await bob.receive(groupId, m4)).plaintext)).toBe('epoch 2');
  });

  it('a last-resort key package stays after a Welcome used it; a forgotten group leaves the store', async () => {
    const store = new InMemoryMlsStateStore();
    const bob = await MlsClient.create(id('bob'), { store });
    const [lastResort] = await bob.generateKeyPackages(1, { lastResort: true });
    const alice = await MlsClient.create(id('alice'));
    const groupId = await alice.createGroup();
    const add = await alice.addMembers(groupId, [lastResort!]);
    alice.mergePendingCommit(groupId);
    const again = await MlsClient.create(id('bob'), { store });
    await again.joinFromWelcome(add.welcome!);
    expect(await store.keys('kp/')).toHaveLength(1);
    expect(await store.keys('group/')).toEqual([`group/${groupId}`]);
    again.forgetGroup(groupId);
    await again.flush();
    expect(await store.keys('group/')).toEqual([]);
  });

  it('refuses a store that holds another device, and drops a group state it cannot read', async () => {
    const store = new InMemoryMlsStateStore();
    const alice = await MlsClient.create(id('alice'), { store });
    await expect(MlsClient.create(id('mallory'), { store })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(MlsClient.create(id('mallory'), { store })).rejects.toBeInstanceOf(MlsError);
    const groupId = await alice.createGroup();
    const bytes = (await store.get(`group/${groupId}`))!;
    expect(() => decodeGroup(bytes.subarray(0, bytes.length - 1), {} as never)).toThrow(MlsError);
    await store.put(`group/${groupId}`, bytes.subarray(0, bytes.length - 1));
    const restarted = await MlsClient.create(id('alice'), { store });
    expect(restarted.hasGroup(groupId)).toBe(false);
    expect(await store.keys('group/')).toEqual([]);
    expect(await store.get(DEVICE_KEY)).toBeDefined();
  });
});
