/**
 * History for MlsChat (docs/e2e.md, "Stored history", "History visibility", "Key backup"): what the
 * chat layer does beyond its own epochs.
 * - Every epoch key the device records is uploaded to the user's key backup, when one is configured.
 * - A message of an epoch before this device joined: first the conversation's history bundles are
 *   read (with `shared` visibility a member sealed the earlier keys for the epoch this device joined at);
 *   still no key, the server's join position decides `not_a_member_then` or `key_not_backed_up`.
 * - When devices join (a commit that puts new leaves in the tree), one member device shares the
 *   earlier epoch keys in a bundle if the conversation's visibility is `shared`: the first member
 *   device in identity order that was already in the tree, so the group posts one bundle per join.
 */
import type { HttpClient } from '../http';
import type { DecryptFailureReason } from './errors';
import { ConversationHistoryClient, type HistoryInfo, type KeyBackupClient } from './history-client';
import type { EpochKeyStore } from './history-keys';
import { type MlsIdentity, identityToString } from './identity';
import { missingKeyReason } from './decrypt-reason';

export interface ChatHistoryOptions {
  /** Back up each epoch key as the device records it (the user's backup key, unwrapped or just made). */
  backup?: { client: KeyBackupClient; backupKey: Uint8Array };
}

export class ChatHistory {
  readonly conversations: ConversationHistoryClient;
  private readonly info = new Map<string, HistoryInfo>();
  /** Conversations whose bundles were read since their last handshake (read again after a new one). */
  private readonly bundlesRead = new Set<string>();

  constructor(
    http: HttpClient,
    private readonly me: MlsIdentity,
    private readonly keys: EpochKeyStore,
    private readonly opts: ChatHistoryOptions = {},
  ) {
    this.conversations = new ConversationHistoryClient(http, me.tenantId);
  }

  /** After the device stored an epoch key. */
  async onEpochKey(groupId: string, epoch: bigint, key: Uint8Array): Promise<void> {
    if (this.opts.backup) await this.opts.backup.client.upload(this.opts.backup.backupKey, [{ groupId, epoch, key }]);
  }

  /** A key for an epoch before this device joined, from the conversation's history bundles (once per handshake). */
  async fromBundles(conversationId: string, groupId: string, epoch: bigint): Promise<Uint8Array | undefined> {
    if (this.bundlesRead.has(conversationId)) return undefined;
    this.bundlesRead.add(conversationId);
    await this.conversations.receiveBundles(conversationId, this.keys);
    const key = await this.keys.get(groupId, epoch);
    if (key) await this.onEpochKey(groupId, epoch, key);
    return key;
  }

  /** Why no key: the server says whether the user was a member when the message was sent. */
  async missingReason(conversationId: string, message: { seq?: number; epoch: bigint }): Promise<DecryptFailureReason> {
    let info = this.info.get(conversationId);
    if (!info) {
      info = await this.conversations.info(conversationId);
      this.info.set(conversationId, info);
    }
    return missingKeyReason(message, info);
  }

  /**
   * After the device applied a commit that moved the group to `epoch` (`before` and `after`: the tree's
   * members). Devices new in the tree entered at `epoch`; with `shared` visibility, the first member
   * device (identity order) that was already in the tree shares the earlier epoch keys with them.
   */
  async afterCommit(conversationId: string, groupId: string, epoch: bigint, before: MlsIdentity[], after: MlsIdentity[]): Promise<void> {
    this.bundlesRead.delete(conversationId);
    this.info.delete(conversationId);
    const had = new Set(before.map(identityToString));
    if (!after.some((m) => !had.has(identityToString(m)))) return;
    const sharer = after.map(identityToString).filter((id) => had.has(id)).sort()[0];
    if (sharer !== identityToString(this.me)) return;
    const epochKey = await this.keys.get(groupId, epoch);
    if (!epochKey) return;
    await this.conversations.shareAfterAdd({ conversationId, groupId, epoch, deviceId: this.me.deviceId, epochKey, store: this.keys });
  }
}
