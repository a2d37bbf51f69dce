type ConnectionListener = (tenantId: string, userId: string) => void;
type StorageListener = (tenantId: string, storedBytes: number) => void;

/**
 * A one-line hook for code that cannot inject the recorder (the socket gateway): it reports a new
 * socket, the usage module listens. Static like DbCommandMonitor, so the gateway needs no new dependency.
 */
export class UsageSignals {
  private static readonly listeners = new Set<ConnectionListener>();

  static onConnection(l: ConnectionListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private static readonly storageListeners = new Set<StorageListener>();

  static onStorage(l: StorageListener): () => void {
    this.storageListeners.add(l);
    return () => this.storageListeners.delete(l);
  }

  /** A tenant's stored bytes after a file was confirmed or deleted (the month's maximum is billed). */
  static storageChanged(tenantId: string, storedBytes: number): void {
    for (const l of this.storageListeners) {
      try {
        l(tenantId, storedBytes);
      } catch {
        /* metering never breaks an upload */
      }
    }
  }

  static connectionOpened(tenantId: string, userId: string): void {
    for (const l of this.listeners) {
      try {
        l(tenantId, userId);
      } catch {
        /* metering never breaks a connection */
      }
    }
  }
}
