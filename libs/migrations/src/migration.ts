import type { mongo } from 'mongoose';

export interface MigrationContext {
  db: mongo.Db;
  log(line: string): void;
}

/**
 * One versioned change to data or schema. `up` and `down` must be safe to re-run after a crash
 * half-way (idempotent updates, upserts, "create if missing"): there are no transactions on FerretDB.
 */
export interface Migration {
  /** Strictly increasing; never reuse or renumber one that has shipped. */
  version: number;
  name: string;
  up(ctx: MigrationContext): Promise<void>;
  down(ctx: MigrationContext): Promise<void>;
}

export interface MigrationRecord {
  _id: number;
  name: string;
  applied_at: Date;
  duration_ms: number;
}
