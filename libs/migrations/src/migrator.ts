import { hostname } from 'node:os';
import { mongo } from 'mongoose';
import type { Migration, MigrationRecord } from './migration';
import { isDuplicateKeyError } from '@chat/database';

export const MIGRATIONS_COLLECTION = 'migrations';
const LOCK_ID = 'lock';
/** A lock older than this is a crashed run and may be taken over. */
const LOCK_STALE_MS = 30 * 60 * 1000;

export interface MigrationStatus {
  version: number;
  name: string;
  applied: boolean;
  applied_at: Date | null;
}

/**
 * Runs versioned migrations and records each applied one in the `migrations` collection
 * (`{ _id: version, name, applied_at, duration_ms }`). A lock document (unique _id) keeps two
 * operators from migrating at the same time.
 */
export class Migrator {
  private readonly migrations: Migration[];

  constructor(
    private readonly db: mongo.Db,
    migrations: Migration[],
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.migrations = [...migrations].sort((a, b) => a.version - b.version);
    const seen = new Set<number>();
    for (const m of this.migrations) {
      if (!Number.isInteger(m.version) || m.version <= 0) throw new Error(`Migration ${m.name}: version must be a positive integer`);
      if (seen.has(m.version)) throw new Error(`Two migrations have version ${m.version}`);
      seen.add(m.version);
    }
  }

  // Version records (_id: number) and the lock (_id: 'lock') share the collection.
  private get records(): mongo.Collection<{ _id: number | string; [k: string]: unknown }> {
    return this.db.collection(MIGRATIONS_COLLECTION);
  }

  async applied(): Promise<MigrationRecord[]> {
    return (await this.records.find({ _id: { $ne: LOCK_ID } }).sort({ _id: 1 }).toArray()) as unknown as MigrationRecord[];
  }

  async status(): Promise<MigrationStatus[]> {
    const done = new Map((await this.applied()).map((r) => [r._id, r]));
    const rows: MigrationStatus[] = this.migrations.map((m) => ({ version: m.version, name: m.name, applied: done.has(m.version), applied_at: done.get(m.version)?.applied_at ?? null }));
    // Applied in the database but unknown to this code: a newer release ran; show it, never touch it.
    for (const r of done.values()) if (!this.migrations.some((m) => m.version === r._id)) rows.push({ version: r._id, name: `${r.name} (unknown to this release)`, applied: true, applied_at: r.applied_at });
    return rows.sort((a, b) => a.version - b.version);
  }

  /** Applies pending migrations in order, up to `to` (default: all). Returns the versions applied. */
  async up(to?: number): Promise<number[]> {
    return this.locked(async () => {
      const done = new Set((await this.applied()).map((r) => r._id));
      const out: number[] = [];
      for (const m of this.migrations) {
        if (done.has(m.version) || (to !== undefined && m.version > to)) continue;
        const started = Date.now();
        this.log(`up   ${m.version} ${m.name}`);
        await m.up({ db: this.db, log: this.log });
        await this.records.replaceOne({ _id: m.version }, { _id: m.version, name: m.name, applied_at: new Date(), duration_ms: Date.now() - started }, { upsert: true });
        out.push(m.version);
      }
      return out;
    });
  }

  /** Reverts applied migrations newest first: `steps` of them (default 1), or all above `to`. */
  async down(opts: { steps?: number; to?: number } = {}): Promise<number[]> {
    return this.locked(async () => {
      const applied = (await this.applied()).map((r) => r._id).sort((a, b) => b - a);
      const targets = opts.to !== undefined ? applied.filter((v) => v > opts.to!) : applied.slice(0, opts.steps ?? 1);
      const out: number[] = [];
      for (const v of targets) {
        const m = this.migrations.find((x) => x.version === v);
        if (!m) throw new Error(`Migration ${v} is applied but unknown to this release: cannot revert it`);
        this.log(`down ${m.version} ${m.name}`);
        await m.down({ db: this.db, log: this.log });
        await this.records.deleteOne({ _id: v });
        out.push(v);
      }
      return out;
    });
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const holder = `${hostname()}:${process.pid}`;
    const now = new Date();
    try {
      await this.records.insertOne({ _id: LOCK_ID, holder, at: now });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Take over a stale lock atomically (conditional on its timestamp); otherwise refuse.
      const taken = await this.records.updateOne({ _id: LOCK_ID, at: { $lt: new Date(now.getTime() - LOCK_STALE_MS) } } , { $set: { holder, at: now } });
      if (taken.modifiedCount !== 1) {
        const cur = (await this.records.findOne({ _id: LOCK_ID } )) as { holder?: string; at?: Date } | null;
        throw new Error(`Another migration run holds the lock (${cur?.holder ?? '?'} since ${cur?.at?.toISOString() ?? '?'})`);
      }
    }
    try {
      return await fn();
    } finally {
      await this.records.deleteOne({ _id: LOCK_ID, holder } );
    }
  }
}
