/**
 * What the app keeps in IndexedDB is sealed: AES-256-GCM (WebCrypto) under one wrapping key per
 * browser profile, generated here as a *non-extractable* CryptoKey and stored in IndexedDB as such
 * (the browser keeps it; no script, ours included, can read its bytes). Each value is bound to its
 * store and key (associated data), so records cannot be swapped between keys.
 *
 * What this protects and what not: README, "Known limits" (web app storage).
 */
import { idbGet, idbPut, idbPutIfAbsent, type StoreName } from './idb';

const WRAPPING_KEY_ID = 'v1';

/** A sealed value as stored. */
export interface SealedRecord {
  sealed: 1;
  iv: Uint8Array;
  data: ArrayBuffer;
}

export function isSealed(v: unknown): v is SealedRecord {
  return typeof v === 'object' && v !== null && (v as { sealed?: unknown }).sealed === 1;
}

let wrappingKey: Promise<CryptoKey> | null = null;

/** The profile's wrapping key (made on first use; the first tab to store one wins). */
function key(): Promise<CryptoKey> {
  wrappingKey ??= (async () => {
    const existing = await idbGet<CryptoKey>('wrapping', WRAPPING_KEY_ID);
    if (existing) return existing;
    const fresh = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    return idbPutIfAbsent('wrapping', WRAPPING_KEY_ID, fresh);
  })().catch((err: unknown) => {
    wrappingKey = null;
    throw err;
  });
  return wrappingKey;
}

function ad(store: StoreName, id: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`chat-app/sealed/v1\n${store}\n${id}`);
}

export async function seal(store: StoreName, id: string, value: Uint8Array): Promise<SealedRecord> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: ad(store, id) }, await key(), value as Uint8Array<ArrayBuffer>);
  return { sealed: 1, iv, data };
}

/** Throws (OperationError) when the record was altered, moved to another key, or sealed under another profile's key. */
export async function unseal(store: StoreName, id: string, rec: SealedRecord): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: rec.iv as Uint8Array<ArrayBuffer>, additionalData: ad(store, id) }, await key(), rec.data));
}

export async function putSealed(store: StoreName, id: string, value: Uint8Array): Promise<void> {
  await idbPut(store, id, await seal(store, id, value));
}

export async function getSealed(store: StoreName, id: string): Promise<Uint8Array | undefined> {
  const rec = await idbGet<unknown>(store, id);
  return isSealed(rec) ? unseal(store, id, rec) : undefined;
}
