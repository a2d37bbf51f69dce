/**
 * The app's IndexedDB database, one per browser profile and origin: `keyrings` (v1 device keys, one
 * per tenant/user), `mls` (MLS state, epoch keys and the key backup's key, one namespace per
 * tenant/user) and `wrapping` (the non-extractable AES key every value of the two others is sealed
 * under: sealed.ts). Version 1 had `keyrings` only, with values in clear (migrated on load).
 */
const DB = 'chat-app';
const VERSION = 2;
export type StoreName = 'keyrings' | 'mls' | 'wrapping';

let opening: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      for (const name of ['keyrings', 'mls', 'wrapping'] satisfies StoreName[]) {
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
      }
    };
    req.onsuccess = () => {
      // Another tab upgrading the schema: let it (this tab opens again on its next call).
      req.result.onversionchange = () => {
        req.result.close();
        opening = null;
      };
      resolve(req.result);
    };
    req.onerror = () => {
      opening = null;
      reject(req.error);
    };
  });
  return opening;
}

/** One request in its own transaction; resolves once the transaction committed. */
export async function idbRun<T>(store: StoreName, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = fn(tx.objectStore(store));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export function idbGet<T>(store: StoreName, key: string): Promise<T | undefined> {
  return idbRun(store, 'readonly', (s) => s.get(key) as IDBRequest<T | undefined>);
}

export async function idbPut(store: StoreName, key: string, value: unknown): Promise<void> {
  await idbRun(store, 'readwrite', (s) => s.put(value, key));
}

export async function idbDelete(store: StoreName, key: string): Promise<void> {
  await idbRun(store, 'readwrite', (s) => s.delete(key));
}

/** Every key starting with `prefix`, in key order. */
export async function idbKeys(store: StoreName, prefix: string): Promise<string[]> {
  const range = IDBKeyRange.bound(prefix, prefix + '\uffff');
  return (await idbRun(store, 'readonly', (s) => s.getAllKeys(range))) as string[];
}

/**
 * Puts `value` under `key` unless the key already holds something; returns what the store holds
 * after (the first writer wins when two tabs race).
 */
export async function idbPutIfAbsent<T>(store: StoreName, key: string, value: T): Promise<T> {
  const db = await open();
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(store, 'readwrite');
    const s = tx.objectStore(store);
    let result = value;
    const get = s.get(key);
    get.onsuccess = () => {
      if (get.result !== undefined) result = get.result as T;
      else s.put(value, key);
    };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}
