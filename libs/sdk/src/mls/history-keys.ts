/**
 * Per-epoch content keys of E2E v2 (docs/e2e.md, "Wire format v2"). Each key is the MLS exporter
 * output of one epoch (RFC 9420 §8.5, label "chat/history/v1", context = the group id bytes): MLS
 * deletes an epoch's secrets when the group moves on, these keys are what keeps stored history
 * readable. A device keeps one per epoch it was in; key backup (mls-history) builds on this interface.
 */
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
