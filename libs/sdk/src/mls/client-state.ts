/**
 * The state half of MlsClient (client.ts): what one device holds — its signature key, its unused key
 * packages, its state in each group and the commit it has pending in each — and how that is kept in
 * an MlsStateStore (client-store.ts), plus the read-only views of a group's tree. Kept apart from the
 * protocol operations (create, commit, join, encrypt, receive) so those read as RFC 9420 steps and
 * this file as the one place state is written.
 */
import {
  type ClientConfig,
  type ClientState,
  type KeyPackage,
  type PrivateKeyPackage,
  defaultCapabilities,
  defaultKeyRetentionConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  generateKeyPackageWithKey,
} from 'ts-mls';
import { type OrderedWrites, decodeGroup, decodeKeyPackage, encodeGroup, encodeKeyPackage, groupKey, keyPackageKey } from './client-store';
import { cipherSuite, keyPackageRef } from './codec';
import { MlsError } from './errors';
import { type MlsIdentity, decodeIdentity, encodeIdentity, identityToString, sameIdentity } from './identity';
import { fastKeyPackageEquality } from './key-package-equality';
import type { MlsStateStore } from './state-store';

/** What a commit produced, to post to the Delivery Service (all MLSMessage bytes). */
export interface MlsCommitOutput {
  /** Hex group id. */
  groupId: string;
  /** The epoch the commit was made in: the server accepts it only while the group is at this epoch. */
  epoch: bigint;
  commit: Uint8Array;
  /** For the added devices; null when nobody was added. */
  welcome: Uint8Array | null;
  /** GroupInfo of the new epoch (with the ratchet tree and external public key, for external joins). */
  groupInfo: Uint8Array;
}

export interface MlsReceived {
  kind: 'application' | 'commit' | 'proposal';
  /** Application data (empty for handshake messages). */
  plaintext: Uint8Array;
  /** Epoch of the group after processing. */
  epoch: bigint;
}

interface Pending {
  state: ClientState;
  output: MlsCommitOutput;
  /** Secrets of the old epoch the commit used up: wiped only on merge, the old state needs them until then. */
  consumed: Uint8Array[];
}

export class MlsClientState {
  protected readonly groups = new Map<string, ClientState>();
  protected readonly pending = new Map<string, Pending>();
  /** Unused key packages by hex ref, with their private keys. */
  protected readonly keyPackages = new Map<string, { publicPackage: KeyPackage; privatePackage: PrivateKeyPackage; lastResort: boolean }>();

  protected constructor(
    readonly identity: MlsIdentity,
    protected readonly signatureKeys: { signKey: Uint8Array; publicKey: Uint8Array },
    protected readonly writes?: OrderedWrites,
  ) {}

  /** Reads the key packages and groups of the store. One that does not decode is dropped (the group is joined again). */
  protected async restore(store: MlsStateStore): Promise<void> {
    for (const key of await store.keys('kp/')) {
      const bytes = await store.get(key);
      if (bytes) this.keyPackages.set(key.slice(3), decodeKeyPackage(bytes, this.signatureKeys.signKey));
    }
    for (const key of await store.keys('group/')) {
      const bytes = await store.get(key);
      if (!bytes) continue;
      try {
        this.groups.set(key.slice(6), decodeGroup(bytes, this.config()));
      } catch {
        await store.delete(key);
      }
    }
  }

  /** Queues the write of a group's state as it is now (or its deletion when gone). */
  protected saveGroup(groupId: string): Promise<void> {
    if (!this.writes) return Promise.resolve();
    const state = this.groups.get(groupId);
    return state ? this.writes.put(groupKey(groupId), encodeGroup(state)) : this.writes.delete(groupKey(groupId));
  }

  /** For the synchronous methods: the write is queued, `flush` reports its failure. */
  protected saveGroupLater(groupId: string): void {
    void this.saveGroup(groupId).catch(() => undefined);
  }

  /** Waits until every change made so far is in the store (rejects if a write failed). */
  async flush(): Promise<void> {
    await this.writes?.flush();
  }

  /**
   * The ts-mls configuration: members' credentials must be `tenant/user/device` of this tenant (the
   * server vouches for user and device when the key package is published).
   */
  protected config(): ClientConfig {
    const tenantId = this.identity.tenantId;
    return {
      keyRetentionConfig: defaultKeyRetentionConfig,
      lifetimeConfig: defaultLifetimeConfig,
      keyPackageEqualityConfig: fastKeyPackageEquality,
      paddingConfig: defaultPaddingConfig,
      authService: {
        validateCredential: async (credential) => credential.credentialType === 'basic' && decodeIdentity(credential.identity)?.tenantId === tenantId,
      },
    };
  }

  /** A key package; `publish`: kept (and stored) until a Welcome uses it, else only for this client's own leaf. */
  protected async newKeyPackage(lastResort: boolean, publish = true) {
    const cs = await cipherSuite();
    const kp = await generateKeyPackageWithKey({ credentialType: 'basic', identity: encodeIdentity(this.identity) }, defaultCapabilities(), defaultLifetime, [], this.signatureKeys, cs);
    const ref = await keyPackageRef(kp.publicPackage);
    if (publish) {
      this.keyPackages.set(ref, { ...kp, lastResort });
      await this.writes?.put(keyPackageKey(ref), encodeKeyPackage({ ...kp, lastResort }));
    }
    return { ref, kp };
  }

  /** Number of key packages whose private keys this client still holds. */
  get unusedKeyPackages(): number {
    return this.keyPackages.size;
  }

  protected state(groupId: string): ClientState {
    const s = this.groups.get(groupId);
    if (!s) throw new MlsError('UNKNOWN_GROUP', 'no state for this group');
    return s;
  }

  protected noPending(groupId: string): void {
    if (this.pending.has(groupId)) throw new MlsError('PENDING_COMMIT', 'a commit of this client awaits the server');
  }

  hasGroup(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  epoch(groupId: string): bigint {
    return this.state(groupId).groupContext.epoch;
  }

  /** Identities of the group's current members, in leaf order. */
  members(groupId: string): MlsIdentity[] {
    const out: MlsIdentity[] = [];
    for (const node of this.state(groupId).ratchetTree) {
      if (node?.nodeType !== 'leaf') continue;
      const cred = node.leaf.credential;
      const id = cred.credentialType === 'basic' ? decodeIdentity(cred.identity) : null;
      if (id) out.push(id);
    }
    return out;
  }

  /** Leaf signature public keys of the current members by `tenant/user/device` (to verify v2 envelopes). */
  memberSignatureKeys(groupId: string): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const node of this.state(groupId).ratchetTree) {
      if (node?.nodeType !== 'leaf' || node.leaf.credential.credentialType !== 'basic') continue;
      const id = decodeIdentity(node.leaf.credential.identity);
      if (id) out.set(identityToString(id), node.leaf.signaturePublicKey);
    }
    return out;
  }

  /** Drops this client's state of a group (removed from it, or rejoining by external commit). */
  forgetGroup(groupId: string): void {
    this.groups.delete(groupId);
    this.pending.delete(groupId);
    this.saveGroupLater(groupId);
  }

  /** Whether this client is still in the group's tree (false after another member removed it). */
  isMember(groupId: string): boolean {
    return this.members(groupId).some((m) => sameIdentity(m, this.identity));
  }

  /** Every member device's identity and signature public key (what safety numbers are computed over). */
  memberCredentials(groupId: string): Array<MlsIdentity & { signaturePublicKey: Uint8Array }> {
    const out: Array<MlsIdentity & { signaturePublicKey: Uint8Array }> = [];
    for (const node of this.state(groupId).ratchetTree) {
      if (node?.nodeType !== 'leaf' || node.leaf.credential.credentialType !== 'basic') continue;
      const id = decodeIdentity(node.leaf.credential.identity);
      if (id) out.push({ ...id, signaturePublicKey: node.leaf.signaturePublicKey });
    }
    return out;
  }
}
