import { Logger } from '@nestjs/common';
import type { Connection } from 'mongoose';

const NOT_QUERIES = new Set(['hello', 'isMaster', 'ping', 'getMore', 'create', 'createIndexes']);

type Listener = (e: { commandName: string; durationMs: number; ok: boolean }) => void;

/** The filter's top-level keys (its shape, never its values): which query was slow. */
function filterShape(command: any): string | undefined {
  const f = command?.filter ?? command?.query ?? command?.q ?? command?.updates?.[0]?.q ?? command?.deletes?.[0]?.q;
  return f && typeof f === 'object' ? Object.keys(f).join(',') : undefined;
}

/**
 * Watches every driver command: logs those slower than the threshold (slow-query log) and feeds
 * listeners such as the Prometheus histogram. Reads durations from the driver's command monitoring.
 */
export class DbCommandMonitor {
  private static readonly logger = new Logger('SlowQuery');
  private static readonly listeners = new Set<Listener>();

  static onCommand(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  static attach(conn: Connection, slowMs: number): void {
    const client = conn.getClient() as unknown as NodeJS.EventEmitter;
    // The started command kept as given (no copy): its collection and filter shape are read only for a slow one.
    const started = new Map<number, { db: string; command: any }>();
    const emit = (commandName: string, durationMs: number, ok: boolean) => {
      for (const l of this.listeners) l({ commandName, durationMs, ok });
    };
    client.on('commandStarted', (e: any) => {
      started.set(e.requestId, { db: e.databaseName, command: e.command });
    });
    const done = (ok: boolean) => (e: any) => {
      const s = started.get(e.requestId);
      started.delete(e.requestId);
      const ms = Number(e.duration ?? 0);
      emit(e.commandName, ms, ok);
      // Schema commands (collections and indexes made at every start) are not queries: on FerretDB they
      // take 200+ ms each and would be ~30 warnings per start that no one can act on.
      if (ms >= slowMs && !NOT_QUERIES.has(e.commandName)) {
        const collection: unknown = s?.command?.[e.commandName];
        this.logger.warn({ msg: 'slow query', command: e.commandName, db: s?.db, collection: typeof collection === 'string' ? collection : undefined, filter: filterShape(s?.command), duration_ms: Math.round(ms), ok });
      }
    };
    client.on('commandSucceeded', done(true));
    client.on('commandFailed', done(false));
  }
}
