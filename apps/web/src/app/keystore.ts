import { createKeyring, exportKeyring, importKeyring, type DeviceKeyring, type SerializedKeyring } from '@sdk';

/**
 * This browser's device keys, one keyring per (tenant, user), in IndexedDB. They never leave the
 * browser: the server gets the public halves only (E2EChat.publishKeys). Clearing site data loses them,
 * and messages sent to this device before then cannot be read again.
 */
const DB = 'chat-app';
const STORE = 'keyrings';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const req = fn(tx.objectStore(STORE));
        tx.oncomplete = () => {
          db.close();
          resolve(req.result);
        };
        tx.onerror = () => reject(tx.error);
      }),
  );
}

function randomDeviceId(): string {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return 'web-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The keyring of this user on this browser: the stored one, or a new one (created = true: publish it). */
export async function loadOrCreateKeyring(tenantId: string, userId: string): Promise<{ keyring: DeviceKeyring; created: boolean }> {
  const id = `${tenantId}/${userId}`;
  const stored = await run<SerializedKeyring | undefined>('readonly', (s) => s.get(id) as IDBRequest<SerializedKeyring | undefined>);
  if (stored) return { keyring: importKeyring(stored), created: false };
  const keyring = createKeyring(randomDeviceId());
  await run('readwrite', (s) => s.put(exportKeyring(keyring), id));
  return { keyring, created: true };
}
