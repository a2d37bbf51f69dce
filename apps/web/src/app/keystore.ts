import { createKeyring, exportKeyring, importKeyring, type DeviceKeyring, type SerializedKeyring } from '@sdk';
import type { EpochKeyStore, MlsStateStore } from '@sdk/mls';
import { idbDelete, idbGet, idbKeys, idbPut } from './idb';
import { getSealed, isSealed, putSealed, seal, unseal } from './sealed';

/**
 * This browser's secrets, in IndexedDB, every value sealed (sealed.ts):
 * - the v1 device keyring of each (tenant, user) (`keyrings`): its public halves are published
 *   (E2EChat.publishKeys) so v1 messages stay readable and v1 previews/search/reactions keep working;
 * - the device's MLS state (`mls`, IdbMlsStateStore): what MlsChat keeps between reloads;
 * - the epoch (history) keys and the key backup's key, in the same namespace.
 * Clearing site data loses all of it: the recovery key (key backup) brings the history back.
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

function randomDeviceId(): string {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return 'web-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The keyring of this user on this browser: the stored one (records of the unsealed v1 schema are sealed now), or a new one. */
export async function loadOrCreateKeyring(tenantId: string, userId: string): Promise<{ keyring: DeviceKeyring; created: boolean }> {
  const id = `${tenantId}/${userId}`;
  const stored = await idbGet<unknown>('keyrings', id);
  if (isSealed(stored)) return { keyring: importKeyring(JSON.parse(dec.decode(await unseal('keyrings', id, stored))) as SerializedKeyring), created: false };
  if (stored) {
    // Written by an earlier version of the app, in clear: seal it in place.
    const keyring = importKeyring(stored as SerializedKeyring);
    await idbPut('keyrings', id, await seal('keyrings', id, enc.encode(JSON.stringify(stored))));
    return { keyring, created: false };
  }
  const keyring = createKeyring(randomDeviceId());
  await putSealed('keyrings', id, enc.encode(JSON.stringify(exportKeyring(keyring))));
  return { keyring, created: true };
}

/** One device's MLS state (the SDK's MlsStateStore) in IndexedDB, under `tenant/user/device|`, values sealed. */
export class IdbMlsStateStore implements MlsStateStore {
  private readonly ns: string;

  constructor(tenantId: string, userId: string, deviceId: string) {
    this.ns = `${tenantId}/${userId}/${deviceId}|`;
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return getSealed('mls', this.ns + key);
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return putSealed('mls', this.ns + key, value);
  }

  delete(key: string): Promise<void> {
    return idbDelete('mls', this.ns + key);
  }

  async keys(prefix: string): Promise<string[]> {
    return (await idbKeys('mls', this.ns + prefix)).map((k) => k.slice(this.ns.length));
  }
}

/**
 * Epoch keys over an MlsStateStore (`app-epoch/<group>/<epoch>`), with a memory cache. When a key
 * backup is on (`backupTo`), every key put here is uploaded too: MlsChat records each epoch's key here,
 * so the backup follows without the chat layer knowing about it.
 */
export class StoredEpochKeys implements EpochKeyStore {
  private readonly cache = new Map<string, Uint8Array>();
  backupTo: ((entry: { groupId: string; epoch: bigint; key: Uint8Array }) => Promise<void>) | null = null;

  constructor(private readonly store: MlsStateStore) {}

  private static path(groupId: string, epoch: bigint): string {
    return `app-epoch/${groupId}/${epoch}`;
  }

  async put(groupId: string, epoch: bigint, key: Uint8Array): Promise<void> {
    const path = StoredEpochKeys.path(groupId, epoch);
    const known = this.cache.get(path);
    this.cache.set(path, key.slice());
    if (known && known.length === key.length && known.every((b, i) => b === key[i])) return;
    await this.store.put(path, key);
    await this.backupTo?.({ groupId, epoch, key }).catch(() => undefined); // the next "back up now" sends it again
  }

  async get(groupId: string, epoch: bigint): Promise<Uint8Array | undefined> {
    const path = StoredEpochKeys.path(groupId, epoch);
    const hit = this.cache.get(path);
    if (hit) return hit;
    const v = await this.store.get(path);
    if (v) this.cache.set(path, v);
    return v;
  }

  async entries(): Promise<Array<{ groupId: string; epoch: bigint; key: Uint8Array }>> {
    const out: Array<{ groupId: string; epoch: bigint; key: Uint8Array }> = [];
    for (const path of await this.store.keys('app-epoch/')) {
      const [, groupId, epoch] = path.split('/');
      const key = await this.get(groupId!, BigInt(epoch!));
      if (key) out.push({ groupId: groupId!, epoch: BigInt(epoch!), key });
    }
    return out;
  }

  /** The key backup's key on this browser (after set-up or a restore), so later epoch keys are backed up too. */
  async backupKey(): Promise<Uint8Array | undefined> {
    return this.store.get('app-backup-key');
  }

  async saveBackupKey(key: Uint8Array): Promise<void> {
    await this.store.put('app-backup-key', key);
  }
}

/**
 * One live session per device (docs/e2e.md: one live MlsChat per store): a Web Lock on the device's
 * name, held until `release`. Another tab of the same user in this browser waits here (`onWait` is
 * called) until the first one closes; a reload frees the lock with the old page.
 */
export async function holdDeviceLock(tenantId: string, userId: string, onWait: () => void): Promise<() => void> {
  const name = `chat-app/device/${tenantId}/${userId}`;
  const hold = (opts: LockOptions) =>
    new Promise<(() => void) | null>((resolve, reject) => {
      navigator.locks
        .request(name, opts, (lock) => {
          if (!lock) return resolve(null);
          return new Promise<void>((release) => resolve(release));
        })
        .catch(reject);
    });
  const now = await hold({ ifAvailable: true });
  if (now) return now;
  onWait();
  return (await hold({}))!;
}
