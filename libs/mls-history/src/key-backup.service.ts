import { Injectable } from '@nestjs/common';
import { ChatEventBus } from '@chat/chat';
import { AppError, ErrorCode } from '@chat/errors';
import { Clock } from '@chat/clock';
import { KeyBackupEntriesRepository, KeyBackupsRepository } from './mls-history.repository';
import type { BackupKeyWrapDoc } from './mls-history.schema';

/** Entries one backup may hold: one per epoch of every conversation the user reads (about 36 bytes of key each). */
export const MAX_BACKUP_ENTRIES = 100_000;
/** Entries per upload and per page. */
export const MAX_BACKUP_ENTRIES_PER_REQUEST = 500;

export interface BackupKeyWrapView {
  kind: 'recovery_key' | 'passphrase';
  salt: string;
  wrapped_key: string;
  scrypt?: { N: number; r: number; p: number };
}

export interface KeyBackupView {
  backup_id: string;
  wraps: BackupKeyWrapView[];
  entry_count: number;
  created_at: Date;
  updated_at: Date;
}

export interface KeyBackupEntryView {
  group_id: string;
  epoch: number;
  ciphertext: string;
}

function wrapView(w: BackupKeyWrapDoc): BackupKeyWrapView {
  return { kind: w.kind, salt: w.salt, wrapped_key: w.wrapped_key, ...(w.scrypt ? { scrypt: { N: w.scrypt.N, r: w.scrypt.r, p: w.scrypt.p } } : {}) };
}

function wrapDoc(w: BackupKeyWrapView): BackupKeyWrapDoc {
  if (w.kind === 'passphrase' && !w.scrypt) throw AppError.validation([{ field: 'wraps', problems: ['a passphrase wrap needs its scrypt parameters'] }]);
  return { kind: w.kind, salt: w.salt, wrapped_key: w.wrapped_key, scrypt: w.kind === 'passphrase' ? w.scrypt! : null };
}

/**
 * Per-user key backup storage (docs/e2e-crypto.md, Key backup): the backup key wrapped by the user's
 * secrets and the user's epoch keys encrypted under it. Ciphertext only; every call is the caller's
 * own backup in the caller's tenant (the repositories pin the tenant, the user comes from the token).
 */
@Injectable()
export class KeyBackupService {
  constructor(
    private readonly backups: KeyBackupsRepository,
    private readonly entries: KeyBackupEntriesRepository,
    private readonly clock: Clock,
    events: ChatEventBus,
  ) {
    // Right to erasure: a deleted user's backup goes with them (runs in the deleting request's tenant).
    events.on('user.deleted', async ({ user_id }) => {
      await this.backups.removeUser(user_id);
      await this.entries.removeOthers(user_id, null);
    });
  }

  private async requireBackup(userId: string) {
    const b = await this.backups.byUser(userId);
    if (!b) throw AppError.notFound('Key backup');
    return b;
  }

  async get(userId: string): Promise<KeyBackupView> {
    const b = await this.requireBackup(userId);
    return { backup_id: b.backup_id, wraps: b.wraps.map(wrapView), entry_count: await this.entries.count(userId, b.backup_id), created_at: b.created_at, updated_at: b.updated_at };
  }

  /**
   * Creates the backup, or re-wraps its key (same backup_id: rotating the recovery key or passphrase
   * keeps every entry), or, with `replace`, starts a new backup key (its old entries are dropped).
   * Another backup_id without `replace` is a 409: a second device must not silently orphan the first's.
   */
  async put(userId: string, input: { backup_id: string; wraps: BackupKeyWrapView[]; replace?: boolean }): Promise<{ view: KeyBackupView; created: boolean }> {
    const wraps = input.wraps.map(wrapDoc);
    const created = await this.backups.locked(userId, async () => {
      const now = new Date(this.clock.now());
      const current = await this.backups.byUser(userId);
      if (!current) {
        if (await this.backups.create({ user_id: userId, backup_id: input.backup_id, wraps, created_at: now, updated_at: now })) return true;
        throw AppError.conflict('The key backup was created concurrently: read it and retry');
      }
      if (current.backup_id !== input.backup_id && !input.replace) {
        throw AppError.conflict('A key backup with another backup key exists: unwrap it, or replace it (its entries are dropped)', { backup_id: current.backup_id });
      }
      await this.backups.replace(userId, { backup_id: input.backup_id, wraps, updated_at: now });
      return false;
    });
    if (!created) await this.entries.removeOthers(userId, input.backup_id);
    return { view: await this.get(userId), created };
  }

  async remove(userId: string): Promise<void> {
    if (!(await this.backups.removeUser(userId))) throw AppError.notFound('Key backup');
    await this.entries.removeOthers(userId, null);
  }

  /** Stores (or replaces) encrypted epoch keys of the caller's current backup. */
  async putEntries(userId: string, input: { backup_id: string; entries: KeyBackupEntryView[] }): Promise<{ stored: number; entry_count: number }> {
    const b = await this.requireBackup(userId);
    if (b.backup_id !== input.backup_id) throw AppError.conflict('The key backup has another backup key now: restore it first', { backup_id: b.backup_id });
    const seen = new Set<string>();
    for (const e of input.entries) {
      const k = `${e.group_id}:${e.epoch}`;
      if (seen.has(k)) throw AppError.validation([{ field: 'entries', problems: [`group ${e.group_id} epoch ${e.epoch} appears twice`] }]);
      seen.add(k);
    }
    const held = await this.entries.count(userId, b.backup_id);
    if (held + input.entries.length > MAX_BACKUP_ENTRIES) {
      const fresh = input.entries.length - (await this.entries.countExisting(userId, b.backup_id, input.entries));
      if (held + fresh > MAX_BACKUP_ENTRIES) {
        throw new AppError(ErrorCode.QuotaExceeded, `A key backup holds at most ${MAX_BACKUP_ENTRIES} entries`, { limit: MAX_BACKUP_ENTRIES, entry_count: held });
      }
    }
    await this.entries.upsert(userId, b.backup_id, input.entries, new Date(this.clock.now()));
    return { stored: input.entries.length, entry_count: await this.entries.count(userId, b.backup_id) };
  }

  async listEntries(userId: string, q: { group_id?: string; cursor?: string; limit?: number }): Promise<{ backup_id: string; data: KeyBackupEntryView[]; next_cursor: string | null }> {
    const b = await this.requireBackup(userId);
    const limit = q.limit ?? MAX_BACKUP_ENTRIES_PER_REQUEST;
    const rows = await this.entries.page(userId, b.backup_id, { group_id: q.group_id, cursor: q.cursor, limit });
    return {
      backup_id: b.backup_id,
      data: rows.map((r) => ({ group_id: r.group_id, epoch: r.epoch, ciphertext: r.ciphertext })),
      next_cursor: rows.length === limit ? rows[rows.length - 1]!._id.toHexString() : null,
    };
  }
}
