/**
 * One device as an MLS client (RFC 9420 through ts-mls): its signature key, its unused key packages,
 * and its state in each group. Handshake changes follow the Delivery Service rule: a commit this
 * client makes stays *pending* until the server accepted it for its epoch; then `mergePendingCommit`,
 * or on a `conflict` `discardPendingCommit`, catch up with the commits of others, and retry.
 *
 * State lives in memory and, when the client is made with an MlsStateStore, in that store too
 * (client-store.ts): written after every change, in order per group. A state from which a message
 * left the device is stored before the message is returned (`encrypt`), so a restarted device never
 * reuses a ratchet generation; a commit's new state is stored when it is merged. A commit pending at a
 * crash is lost with its secrets: the device rejoins (external commit) if the server had taken it.
 *
 * The state and its storage are in client-state.ts (MlsClientState, which this class extends); this
 * file has the protocol operations.
 */
import {
  type ClientState,
  type Proposal,
  acceptAll,
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  emptyPskIndex,
  joinGroup,
  joinGroupExternal,
  mlsExporter,
  processMessage,
  zeroOutUint8Array,
} from 'ts-mls';
import { type MlsCommitOutput, type MlsReceived, MlsClientState } from './client-state';
import { DEVICE_KEY, OrderedWrites, decodeDevice, encodeDevice, keyPackageKey } from './client-store';
import { cipherSuite, decodeMessage, encodeMessage, ratchetTreeOf, toHex } from './codec';
import { MlsError } from './errors';
import { HISTORY_KEY_LABEL } from './history-keys';
import { type MlsIdentity, decodeIdentity, encodeIdentity, identityToString, sameIdentity } from './identity';
import type { MlsStateStore } from './state-store';

export type { MlsCommitOutput, MlsReceived } from './client-state';

const utf8 = new TextEncoder();

/**
 * Up to this many leaves a Welcome carries the ratchet tree; beyond, it does not and the joiner takes
 * the tree from the GroupInfo of the same epoch (the Delivery Service hands it out with the Welcome).
 * The tree is ~340 bytes a leaf: putting it in the Welcome made an add at 2,000 devices 449 KB larger
 * and ~40 % slower (bench/RESULTS.md). ts-mls checks the tree against the Welcome's tree hash.
 */
export const WELCOME_TREE_MAX_LEAVES = 256;
export class MlsClient extends MlsClientState {
  private constructor(identity: MlsIdentity, signatureKeys: { signKey: Uint8Array; publicKey: Uint8Array }, writes?: OrderedWrites) {
    super(identity, signatureKeys, writes);
  }

  /**
   * A device client. Without a store: a fresh Ed25519 signature key, state in memory. With a store:
   * the device it holds (its key, unused key packages and groups), or a new one written to it. A store
   * holding another identity is refused (one store per device).
   */
  static async create(identity: MlsIdentity, opts: { store?: MlsStateStore } = {}): Promise<MlsClient> {
    encodeIdentity(identity); // validates
    const store = opts.store;
    if (!store) return new MlsClient(identity, await (await cipherSuite()).signature.keygen());
    const saved = await store.get(DEVICE_KEY);
    if (!saved) {
      const keys = await (await cipherSuite()).signature.keygen();
      await store.put(DEVICE_KEY, encodeDevice(identity, keys));
      return new MlsClient(identity, keys, new OrderedWrites(store));
    }
    const device = decodeDevice(saved);
    if (!sameIdentity(device.identity, identity)) throw new MlsError('INVALID_INPUT', `the store holds the state of ${identityToString(device.identity)}, not of this device`);
    const client = new MlsClient(identity, device.keys, new OrderedWrites(store));
    await client.restore(store);
    return client;
  }
  /** Key packages (KeyPackage MLSMessage bytes) to publish; this client keeps their private keys. */
  async generateKeyPackages(count: number, opts: { lastResort?: boolean } = {}): Promise<Uint8Array[]> {
    if (!Number.isInteger(count) || count < 0 || count > 1000) throw new MlsError('INVALID_INPUT', 'count must be an integer from 0 to 1000');
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const { kp } = await this.newKeyPackage(opts.lastResort ?? false);
      out.push(encodeMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: kp.publicPackage }));
    }
    return out;
  }
  /** Creates a group of one (epoch 0). `groupId` defaults to 16 random bytes; returns it as hex. */
  async createGroup(groupId?: Uint8Array): Promise<string> {
    const cs = await cipherSuite();
    const id = groupId ?? cs.rng.randomBytes(16);
    const hex = toHex(id);
    if (this.groups.has(hex)) throw new MlsError('INVALID_INPUT', 'group exists');
    const { kp } = await this.newKeyPackage(false, false);
    this.groups.set(hex, await createGroup(id, kp.publicPackage, kp.privatePackage, [], cs, this.config()));
    await this.saveGroup(hex);
    return hex;
  }

  private async commit(groupId: string, proposals: Proposal[]): Promise<MlsCommitOutput> {
    this.noPending(groupId);
    const cs = await cipherSuite();
    const before = this.state(groupId);
    let res;
    try {
      const leaves = Math.ceil(before.ratchetTree.length / 2) + proposals.filter((p) => p.proposalType === 'add').length;
      res = await createCommit({ state: before, cipherSuite: cs }, { extraProposals: proposals, ratchetTreeExtension: leaves <= WELCOME_TREE_MAX_LEAVES });
    } catch (err) {
      throw new MlsError('REJECTED', `commit refused: ${(err as Error).message}`, { cause: err });
    }
    const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(res.newState, [], cs);
    const output: MlsCommitOutput = {
      groupId,
      epoch: before.groupContext.epoch,
      commit: encodeMessage(res.commit),
      welcome: res.welcome ? encodeMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: res.welcome }) : null,
      groupInfo: encodeMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo }),
    };
    this.pending.set(groupId, { state: res.newState, output, consumed: res.consumed });
    return output;
  }

  /** Commit adding the devices of these key packages (KeyPackage MLSMessage bytes, e.g. claimed from the server). */
  async addMembers(groupId: string, keyPackages: Uint8Array[]): Promise<MlsCommitOutput> {
    if (keyPackages.length === 0) throw new MlsError('INVALID_INPUT', 'no key packages');
    const proposals: Proposal[] = keyPackages.map((bytes) => {
      const msg = decodeMessage(bytes);
      if (msg.wireformat !== 'mls_key_package') throw new MlsError('INVALID_INPUT', 'not a key package');
      return { proposalType: 'add', add: { keyPackage: msg.keyPackage } };
    });
    return this.commit(groupId, proposals);
  }

  /** Commit removing these devices. */
  async removeMembers(groupId: string, who: MlsIdentity[]): Promise<MlsCommitOutput> {
    const tree = this.state(groupId).ratchetTree;
    const proposals: Proposal[] = [];
    for (const target of who) {
      // Leaf i sits at node 2i of the array-based tree (RFC 9420 appendix C).
      const nodeIndex = tree.findIndex((n) => {
        if (n?.nodeType !== 'leaf' || n.leaf.credential.credentialType !== 'basic') return false;
        const id = decodeIdentity(n.leaf.credential.identity);
        return id !== null && sameIdentity(id, target);
      });
      if (nodeIndex < 0) throw new MlsError('INVALID_INPUT', 'not a member of the group');
      proposals.push({ proposalType: 'remove', remove: { removed: nodeIndex / 2 } });
    }
    return this.commit(groupId, proposals);
  }

  /** A commit with no proposals: a fresh path, new epoch secrets (post-compromise security). */
  async update(groupId: string): Promise<MlsCommitOutput> {
    return this.commit(groupId, []);
  }

  /** The server accepted this client's commit: move to the new epoch. */
  mergePendingCommit(groupId: string): bigint {
    const p = this.pending.get(groupId);
    if (!p) throw new MlsError('NO_PENDING_COMMIT', 'no pending commit');
    this.pending.delete(groupId);
    p.consumed.forEach(zeroOutUint8Array);
    this.groups.set(groupId, p.state);
    this.saveGroupLater(groupId);
    return p.state.groupContext.epoch;
  }

  /** The server refused it (conflict): forget it, process the others' commits, then retry. */
  discardPendingCommit(groupId: string): void {
    this.pending.delete(groupId);
  }

  /**
   * Joins from a Welcome addressed to one of this client's key packages. The ratchet tree travels in
   * the Welcome, or (large groups, WELCOME_TREE_MAX_LEAVES) in `groupInfoBytes`, the GroupInfo of the
   * epoch the Welcome is for.
   */
  async joinFromWelcome(welcomeBytes: Uint8Array, groupInfoBytes?: Uint8Array): Promise<string> {
    const msg = decodeMessage(welcomeBytes);
    if (msg.wireformat !== 'mls_welcome') throw new MlsError('INVALID_INPUT', 'not a Welcome');
    const refs = new Set(msg.welcome.secrets.map((s) => toHex(s.newMember)));
    const match = [...this.keyPackages.entries()].find(([ref]) => refs.has(ref));
    if (!match) throw new MlsError('NO_MATCHING_KEY_PACKAGE', 'the Welcome is for none of my key packages');
    const [ref, kp] = match;
    let state: ClientState;
    try {
      const tree = groupInfoBytes ? ratchetTreeOf(groupInfoBytes) : undefined;
      state = await joinGroup(msg.welcome, kp.publicPackage, kp.privatePackage, emptyPskIndex, await cipherSuite(), tree, undefined, this.config());
    } catch (err) {
      throw new MlsError('REJECTED', `Welcome refused: ${(err as Error).message}`, { cause: err });
    }
    const groupId = toHex(state.groupContext.groupId);
    this.groups.set(groupId, state);
    await this.saveGroup(groupId);
    // A one-time key package is spent (its private keys gone with it); a last-resort one stays usable (RFC 9420 §16.8).
    if (!kp.lastResort) {
      this.keyPackages.delete(ref);
      await this.writes?.delete(keyPackageKey(ref));
    }
    return groupId;
  }

  /**
   * Joins by external commit from the group's latest GroupInfo (as the server keeps it). Like any
   * commit it stays pending until the server accepts it (mergePendingCommit); on a conflict discard
   * it and join again from the newer GroupInfo.
   */
  async joinExternal(groupInfoBytes: Uint8Array): Promise<MlsCommitOutput> {
    const msg = decodeMessage(groupInfoBytes);
    if (msg.wireformat !== 'mls_group_info') throw new MlsError('INVALID_INPUT', 'not a GroupInfo');
    const cs = await cipherSuite();
    const { kp } = await this.newKeyPackage(false, false);
    let res;
    try {
      res = await joinGroupExternal(msg.groupInfo, kp.publicPackage, kp.privatePackage, false, cs, undefined, this.config());
    } catch (err) {
      throw new MlsError('REJECTED', `external join refused: ${(err as Error).message}`, { cause: err });
    }
    const groupId = toHex(res.newState.groupContext.groupId);
    if (this.groups.has(groupId)) throw new MlsError('INVALID_INPUT', 'already in this group');
    this.noPending(groupId);
    const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(res.newState, [], cs);
    const output: MlsCommitOutput = {
      groupId,
      epoch: msg.groupInfo.groupContext.epoch,
      commit: encodeMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: res.publicMessage }),
      welcome: null,
      groupInfo: encodeMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo }),
    };
    this.pending.set(groupId, { state: res.newState, output, consumed: [] });
    return output;
  }

  /** GroupInfo of the current epoch, with the ratchet tree and external public key. */
  async groupInfo(groupId: string): Promise<Uint8Array> {
    const gi = await createGroupInfoWithExternalPubAndRatchetTree(this.state(groupId), [], await cipherSuite());
    return encodeMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: gi });
  }

  /** Encrypts application data for the group's current epoch (a PrivateMessage MLSMessage). */
  async encrypt(groupId: string, plaintext: Uint8Array | string): Promise<Uint8Array> {
    this.noPending(groupId);
    const data = typeof plaintext === 'string' ? utf8.encode(plaintext) : plaintext;
    const res = await createApplicationMessage(this.state(groupId), data, await cipherSuite());
    res.consumed.forEach(zeroOutUint8Array);
    this.groups.set(groupId, res.newState);
    // Stored before the message leaves: a restarted device never encrypts with this generation again.
    await this.saveGroup(groupId);
    return encodeMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: res.privateMessage });
  }

  /**
   * Processes a message of the group: decrypts application data, or applies another member's commit
   * (this client's own commits are merged with mergePendingCommit instead). Throws REJECTED for
   * anything ts-mls refuses: tampered bytes, a replayed or stale commit, a non-member's message.
   */
  async receive(groupId: string, bytes: Uint8Array): Promise<MlsReceived> {
    const msg = decodeMessage(bytes);
    if (msg.wireformat !== 'mls_private_message' && msg.wireformat !== 'mls_public_message') throw new MlsError('INVALID_INPUT', 'not a group message');
    const state = this.state(groupId);
    let res;
    try {
      res = await processMessage(msg, state, emptyPskIndex, acceptAll, await cipherSuite());
    } catch (err) {
      throw new MlsError('REJECTED', `message refused: ${(err as Error).message}`, { cause: err });
    }
    res.consumed.forEach(zeroOutUint8Array);
    this.groups.set(groupId, res.newState);
    await this.saveGroup(groupId);
    // Someone else's commit moved the group: a pending commit of ours is for an epoch that is gone.
    if (res.kind === 'newState' && res.newState.groupContext.epoch !== state.groupContext.epoch) this.pending.delete(groupId);
    if (res.kind === 'applicationMessage') return { kind: 'application', plaintext: res.message, epoch: res.newState.groupContext.epoch };
    const kind = res.newState.groupContext.epoch !== state.groupContext.epoch ? 'commit' : 'proposal';
    return { kind, plaintext: new Uint8Array(0), epoch: res.newState.groupContext.epoch };
  }

  /**
   * The epoch's history (content) key: MLS-Exporter("chat/history/v1", group id, 32) of the current
   * epoch (RFC 9420 §8.5). Stays valid after MLS deletes the epoch's secrets: keep it (EpochKeyStore).
   */
  async exportEpochKey(groupId: string): Promise<{ epoch: bigint; key: Uint8Array }> {
    const s = this.state(groupId);
    const key = await mlsExporter(s.keySchedule.exporterSecret, HISTORY_KEY_LABEL, s.groupContext.groupId, 32, await cipherSuite());
    return { epoch: s.groupContext.epoch, key };
  }
  /** Signs with this device's Ed25519 leaf signature key (v2 envelopes; the key never leaves the client). */
  async signWithLeafKey(bytes: Uint8Array): Promise<Uint8Array> {
    return (await cipherSuite()).signature.sign(this.signatureKeys.signKey, bytes);
  }}
