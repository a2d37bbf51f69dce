/**
 * Per-epoch history keys (E2E v2): the content key of each epoch of a conversation's MLS group,
 * exported from MLS (label "chat/history/v1"), kept after MLS deletes the epoch's secrets so stored
 * history stays readable. Devices keep them in an EpochKeyStore; the key backup (key-backup.ts) and
 * history bundles (history-bundle.ts) move them between devices and members.
 */

/** Where a device keeps its epoch keys (memory by default; apps may persist them in protected storage). */
export interface EpochKeyStore {
  put(groupId: string, epoch: number, key: Uint8Array): void | Promise<void>;
  get(groupId: string, epoch: number): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  entries(): Iterable<EpochKeyEntry> | AsyncIterable<EpochKeyEntry> | Promise<Iterable<EpochKeyEntry>>;
}

export interface EpochKeyEntry {
  /** Hex MLS group id. */
  groupId: string;
  epoch: number;
  key: Uint8Array;
}

/** The in-memory store (a Map keyed by group and epoch). */
export class MemoryEpochKeyStore implements EpochKeyStore {
  private readonly keys = new Map<string, EpochKeyEntry>();

  put(groupId: string, epoch: number, key: Uint8Array): void {
    this.keys.set(`${groupId}:${epoch}`, { groupId, epoch, key: key.slice() });
  }

  get(groupId: string, epoch: number): Uint8Array | undefined {
    return this.keys.get(`${groupId}:${epoch}`)?.key;
  }

  entries(): Iterable<EpochKeyEntry> {
    return [...this.keys.values()];
  }
}

/** Every entry of a store, whichever iterable shape it returns. */
export async function allEpochKeys(store: EpochKeyStore): Promise<EpochKeyEntry[]> {
  const it = await store.entries();
  const out: EpochKeyEntry[] = [];
  for await (const e of it as AsyncIterable<EpochKeyEntry>) out.push(e);
  return out;
}
