/**
 * Where one device keeps its MLS state between runs (a browser reload, a process restart): its
 * signature key, the private keys of the key packages it published, each group's ts-mls state, its
 * conversation→group map and its epoch (history) keys. Values are secrets (they decrypt everything the
 * device can read, and sign as the device): the app protects the storage, e.g. IndexedDB with values
 * wrapped by a non-extractable WebCrypto key, or a file only the service user reads.
 *
 * Keys are short ASCII paths (`device`, `kp/<ref>`, `group/<id>`, `conv/<id>`, `epoch/<group>/<epoch>`,
 * `roster/<group>`); a store holds one device. Writes to one key arrive in order (the SDK awaits each).
 */

/** Durable key-value storage for one device's MLS state. Values are secrets: the app protects the storage. */
export interface MlsStateStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys starting with prefix. */
  keys(prefix: string): Promise<string[]>;
}

/** A store in this process's memory (tests, or a device that need not survive a restart). Values are copied in and out. */
export class InMemoryMlsStateStore implements MlsStateStore {
  private readonly map = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = this.map.get(key);
    return v && v.slice();
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.map.set(key, value.slice());
  }

  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix));
  }

  /** Number of entries (tests). */
  get size(): number {
    return this.map.size;
  }
}
