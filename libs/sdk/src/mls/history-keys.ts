/**
 * Per-epoch content keys of E2E v2 (docs/e2e.md, "Wire format v2"). Each key is the MLS exporter
 * output of one epoch (RFC 9420 §8.5, label "chat/history/v1", context = the group id bytes): MLS
 * deletes an epoch's secrets when the group moves on, these keys are what keeps stored history
 * readable. A device keeps one per epoch it was in; key backup (mls-history) builds on this interface.
 */
import type { MlsStateStore } from './state-store';

export interface EpochKeyStore {
  put(groupId: string, epoch: bigint, key: Uint8Array): void | Promise<void>;
  get(groupId: string, epoch: bigint): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Every key held, e.g. to back them up. */
  entries(): Iterable<{ groupId: string; epoch: bigint; key: Uint8Array }> | Promise<Iterable<{ groupId: string; epoch: bigint; key: Uint8Array }>>;
}

/** Exporter label of the history (content) key of an epoch. */
export const HISTORY_KEY_LABEL = 'chat/history/v1';

/** The default store: in memory, gone with the process. */
export class InMemoryEpochKeyStore implements EpochKeyStore {
  private readonly keys = new Map<string, { groupId: string; epoch: bigint; key: Uint8Array }>();

  put(groupId: string, epoch: bigint, key: Uint8Array): void {
    this.keys.set(`${groupId}:${epoch}`, { groupId, epoch, key: key.slice() });
  }

  get(groupId: string, epoch: bigint): Uint8Array | undefined {
    return this.keys.get(`${groupId}:${epoch}`)?.key;
  }

  entries(): Iterable<{ groupId: string; epoch: bigint; key: Uint8Array }> {
    return [...this.keys.values()];
  }
}

/**
 * Epoch keys in an MlsStateStore (`epoch/<group>/<epoch>`, the 32 key bytes), beside the device's other
 * MLS state: a restarted device reads the history it could read before.
 */
export class StoredEpochKeyStore implements EpochKeyStore {
  constructor(private readonly store: MlsStateStore) {}

  put(groupId: string, epoch: bigint, key: Uint8Array): Promise<void> {
    return this.store.put(`epoch/${groupId}/${epoch}`, key);
  }

  get(groupId: string, epoch: bigint): Promise<Uint8Array | undefined> {
    return this.store.get(`epoch/${groupId}/${epoch}`);
  }

  async entries(): Promise<Array<{ groupId: string; epoch: bigint; key: Uint8Array }>> {
    const out: Array<{ groupId: string; epoch: bigint; key: Uint8Array }> = [];
    for (const k of await this.store.keys('epoch/')) {
      const [, groupId, epoch] = k.split('/');
      if (!groupId || !epoch || !/^\d+$/.test(epoch)) continue;
      const key = await this.store.get(k);
      if (key) out.push({ groupId, epoch: BigInt(epoch), key });
    }
    return out;
  }
}
