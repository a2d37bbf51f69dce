/**
 * The REST side of E2E v2 history: the user's key backup (/v1/me/key-backup) and a conversation's
 * history visibility and bundles (/v1/conversations/:id/mls/history). Everything sent is ciphertext
 * made here (key-backup.ts, history-bundle.ts); the secrets never leave the device.
 */
import { ChatApiError } from '../errors';
import { HttpClient, seg } from '../http';
import type { DecryptFailureReason } from './errors';
import { missingKeyReason } from './decrypt-reason';
import { openHistoryBundle, sealHistoryBundle } from './history-bundle';
import { allEpochKeys, type EpochKeyEntry } from './epoch-keys';
import type { EpochKeyStore } from './history-keys';
import {
  type BackupContext,
  type BackupEntry,
  type BackupKeyWrap,
  type BackupSecret,
  type ScryptParams,
  backupIdOf,
  decryptBackupEntries,
  encryptBackupEntries,
  generateBackupKey,
  generateRecoveryKey,
  unwrapBackupKey,
  wrapWithPassphrase,
  wrapWithRecoveryKey,
} from './key-backup';

const PAGE = 500;

export interface KeyBackupStatus {
  backup_id: string;
  wraps: BackupKeyWrap[];
  entry_count: number;
  created_at: string;
  updated_at: string;
}

export interface HistoryInfo {
  conversation_id: string;
  history_visibility: 'joined' | 'shared';
  joined_at: string;
  joined_seq: number;
  joined_epoch: number | null;
}

/** The user's key backup, seen from one device. */
export class KeyBackupClient {
  constructor(
    private readonly http: HttpClient,
    readonly ctx: BackupContext,
  ) {}

  /** The backup the server holds for this user, or null. */
  async status(): Promise<KeyBackupStatus | null> {
    try {
      return await this.http.get<KeyBackupStatus>('/v1/me/key-backup');
    } catch (err) {
      if (err instanceof ChatApiError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * Sets up backup with a new backup key, wrapped by a new recovery key (returned as text: show it to
   * the user once) and/or a passphrase. `replace` overwrites a backup made with another key (its
   * entries are lost); without it an existing backup is a 409 `conflict`: restore that one instead.
   */
  async create(opts: { recoveryKey?: boolean; passphrase?: string; scrypt?: ScryptParams; replace?: boolean } = { recoveryKey: true }): Promise<{ backupKey: Uint8Array; recoveryKey?: string }> {
    const backupKey = generateBackupKey();
    const wraps: BackupKeyWrap[] = [];
    let recoveryText: string | undefined;
    if (opts.recoveryKey ?? !opts.passphrase) {
      const rk = generateRecoveryKey();
      recoveryText = rk.text;
      wraps.push(wrapWithRecoveryKey(backupKey, rk.key, this.ctx));
    }
    if (opts.passphrase !== undefined) wraps.push(await wrapWithPassphrase(backupKey, opts.passphrase, this.ctx, opts.scrypt));
    await this.http.put('/v1/me/key-backup', { backup_id: backupIdOf(backupKey), wraps, ...(opts.replace ? { replace: true } : {}) });
    return { backupKey, ...(recoveryText ? { recoveryKey: recoveryText } : {}) };
  }

  /**
   * A new recovery key for the same backup key: only the wrap changes (every entry stays valid);
   * passphrase wraps are kept unless `dropPassphrase`. The old recovery key opens nothing afterwards.
   */
  async rotateRecoveryKey(backupKey: Uint8Array, opts: { dropPassphrase?: boolean } = {}): Promise<{ recoveryKey: string }> {
    const current = await this.status();
    const backupId = backupIdOf(backupKey);
    if (!current || current.backup_id !== backupId) throw new ChatApiError(409, 'conflict', 'the server holds no backup for this backup key');
    const rk = generateRecoveryKey();
    const keep = opts.dropPassphrase ? [] : current.wraps.filter((w) => w.kind === 'passphrase');
    await this.http.put('/v1/me/key-backup', { backup_id: backupId, wraps: [wrapWithRecoveryKey(backupKey, rk.key, this.ctx), ...keep] });
    return { recoveryKey: rk.text };
  }

  /** Encrypts these epoch keys under the backup key and uploads them (in pages of 500). */
  async upload(backupKey: Uint8Array, keys: EpochKeyEntry[]): Promise<number> {
    const backupId = backupIdOf(backupKey);
    for (let i = 0; i < keys.length; i += PAGE) {
      await this.http.post('/v1/me/key-backup/entries', { backup_id: backupId, entries: encryptBackupEntries(backupKey, this.ctx, keys.slice(i, i + PAGE)) });
    }
    return keys.length;
  }

  /** Uploads every key of the store. */
  async backUp(backupKey: Uint8Array, store: EpochKeyStore): Promise<number> {
    return this.upload(backupKey, await allEpochKeys(store));
  }

  /**
   * On a new device: unwraps the backup key with the recovery key (text or bytes) or passphrase, then
   * downloads every entry, decrypts it and puts it in the store. AUTHENTICATION_FAILED (CryptoError)
   * for a wrong secret; a 404 ChatApiError when the user has no backup.
   */
  async restore(secret: BackupSecret, store: EpochKeyStore): Promise<{ backupKey: Uint8Array; restored: number }> {
    const status = await this.http.get<KeyBackupStatus>('/v1/me/key-backup');
    const backupKey = await unwrapBackupKey(status.wraps, secret, this.ctx, status.backup_id);
    let restored = 0;
    let cursor: string | null = null;
    do {
      const page: { backup_id: string; data: BackupEntry[]; next_cursor: string | null } = await this.http.get('/v1/me/key-backup/entries', { limit: PAGE, ...(cursor ? { cursor } : {}) });
      if (page.backup_id !== status.backup_id) throw new ChatApiError(409, 'conflict', 'the backup was replaced while restoring: restore again');
      for (const e of decryptBackupEntries(backupKey, this.ctx, page.data)) {
        await store.put(e.groupId, e.epoch, e.key);
        restored++;
      }
      cursor = page.next_cursor;
    } while (cursor);
    return { backupKey, restored };
  }
}

/** A conversation's history visibility, the caller's join position, and history bundles. */
export class ConversationHistoryClient {
  constructor(
    private readonly http: HttpClient,
    readonly tenantId: string,
  ) {}

  private base(conversationId: string): string {
    return `/v1/conversations/${seg(conversationId)}/mls/history`;
  }

  info(conversationId: string): Promise<HistoryInfo> {
    return this.http.get(this.base(conversationId));
  }

  setVisibility(conversationId: string, visibility: 'joined' | 'shared'): Promise<HistoryInfo> {
    return this.http.put(this.base(conversationId), { history_visibility: visibility });
  }

  /**
   * The hook of the add/join path: after this device's commit adding someone was accepted at `epoch`
   * (or after it processed someone's external join into `epoch`), with `shared` visibility it uploads
   * the earlier epoch keys it holds, sealed under that epoch's history key. With `joined` it does
   * nothing and returns null.
   */
  async shareAfterAdd(input: { conversationId: string; groupId: string; epoch: bigint; deviceId: string; epochKey: Uint8Array; store: EpochKeyStore }): Promise<{ id: string; epochs: number } | null> {
    const info = await this.info(input.conversationId);
    if (info.history_visibility !== 'shared') return null;
    const keys = (await allEpochKeys(input.store)).filter((k) => k.groupId === input.groupId && k.epoch < input.epoch);
    const ctx = { tenantId: this.tenantId, conversationId: input.conversationId, groupId: input.groupId, epoch: input.epoch };
    const res = await this.http.post<{ id: string }>(`${this.base(input.conversationId)}/bundles`, {
      device_id: input.deviceId,
      group_id: input.groupId,
      epoch: Number(input.epoch),
      ciphertext: sealHistoryBundle(ctx, input.epochKey, keys),
    });
    return { id: res.id, epochs: keys.length };
  }

  /**
   * Fetches the conversation's bundles and opens each one whose epoch key this device holds (the
   * epochs it was in the group for); the keys inside go to the store. Bundles that do not open
   * (another epoch's, or altered) are skipped. Returns how many keys were added.
   */
  async receiveBundles(conversationId: string, store: EpochKeyStore): Promise<number> {
    let added = 0;
    let cursor: string | null = null;
    do {
      const page: { data: Array<{ group_id: string; epoch: number; ciphertext: string }>; next_cursor: string | null } = await this.http.get(`${this.base(conversationId)}/bundles`, cursor ? { cursor } : {});
      for (const b of page.data) {
        const epochKey = await store.get(b.group_id, BigInt(b.epoch));
        if (!epochKey) continue;
        let keys: EpochKeyEntry[];
        try {
          keys = openHistoryBundle({ tenantId: this.tenantId, conversationId, groupId: b.group_id, epoch: BigInt(b.epoch) }, epochKey, b.ciphertext);
        } catch {
          continue;
        }
        for (const k of keys) {
          if (await store.get(k.groupId, k.epoch)) continue;
          await store.put(k.groupId, k.epoch, k.key);
          added++;
        }
      }
      cursor = page.next_cursor;
    } while (cursor);
    return added;
  }

  /** Why a message of this epoch (and seq, when it has one) is unreadable here: asks the server when the user joined. */
  async missingKeyReason(conversationId: string, message: { seq?: number; epoch: number | bigint }): Promise<DecryptFailureReason> {
    return missingKeyReason(message, await this.info(conversationId));
  }
}
