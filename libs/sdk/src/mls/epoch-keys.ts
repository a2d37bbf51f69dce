import type { EpochKeyStore } from './history-keys';

/** One epoch key as the history helpers pass it around. */
export interface EpochKeyEntry {
  /** Hex MLS group id. */
  groupId: string;
  epoch: bigint;
  key: Uint8Array;
}

/** Every entry of a store, whichever iterable shape it returns. */
export async function allEpochKeys(store: EpochKeyStore): Promise<EpochKeyEntry[]> {
  return [...(await store.entries())];
}
