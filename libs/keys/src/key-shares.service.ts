import { Injectable } from '@nestjs/common';
import { Types } from 'mongoose';
import type { ConversationKeyVersionView, MessageKeyShareView } from '@chat/contracts';
import { AppError, ErrorCode } from '@chat/errors';
import { ConversationKeySharesRepository, ConversationKeysRepository, MessageKeySharesRepository } from './device-keys.repository';
import { SharedWrappedKey } from './device-key.schema';
import { KeyDirectoryService, MAX_KEY_VERSION } from './key-directory.service';

export interface WrappedKeySetInput {
  ephemeral_public_key: string;
  encrypted_key: SharedWrappedKey[];
}

export const MAX_MESSAGE_SHARES_PER_CALL = 100;
const KEY_CHECK_RE = /^[0-9a-f]{32}$/;
/** How many conversation key versions (newest first) a member fetches at most. */
const CONVERSATION_KEY_VERSIONS_MAX = 100;

const plainEntries = (entries: SharedWrappedKey[]) =>
  entries.map((e) => ({ user_id: e.user_id, device_id: e.device_id, key_version: e.key_version, wrapped_key: e.wrapped_key }));

/** Groups wrapped-key entries by recipient user; refuses entries for anyone who is not a member. */
function byRecipient(entries: SharedWrappedKey[], memberIds: readonly string[], field: string): Map<string, SharedWrappedKey[]> {
  const members = new Set(memberIds);
  const strangers = [...new Set(entries.filter((e) => !members.has(e.user_id)).map((e) => e.user_id))];
  if (strangers.length) throw AppError.validation([{ field, problems: [`not members of the conversation: ${strangers.join(', ')}`] }]);
  const out = new Map<string, SharedWrappedKey[]>();
  for (const e of entries) {
    const list = out.get(e.user_id) ?? [];
    list.push(e);
    out.set(e.user_id, list);
  }
  return out;
}

/**
 * Key material members give each other through the server, always wrapped for recipient devices:
 * conversation key versions (for previews, search tokens and reactions) and history re-shares of
 * earlier messages' content keys for members who joined later. The caller has checked membership and
 * passes the member list; this service never sees a usable key.
 */
@Injectable()
export class KeySharesService {
  constructor(
    private readonly conversationKeys: ConversationKeysRepository,
    private readonly conversationShares: ConversationKeySharesRepository,
    private readonly messageShares: MessageKeySharesRepository,
    private readonly directory: KeyDirectoryService,
  ) {}

  /** Whether a conversation shares its history with later members (E2E v2; set by libs/mls-history, which depends on this module). */
  private sharesHistory: (conversationId: string) => Promise<boolean> = async () => false;

  useHistoryVisibility(fn: (conversationId: string) => Promise<boolean>): void {
    this.sharesHistory = fn;
  }

  /**
   * Which of these messages were re-shared to the user (history shares): they may read them. The v2
   * ones (`v2Ids`) are all readable when the conversation's history visibility is `shared`: a member
   * device gives the new member the earlier epoch keys (history bundles).
   */
  async sharedMessageIds(conversationId: string, recipientId: string, messageIds: readonly string[], v2Ids: readonly string[] = []): Promise<Set<string>> {
    if (!messageIds.length) return new Set();
    if (v2Ids.length && (await this.sharesHistory(conversationId))) {
      const rest = messageIds.filter((id) => !v2Ids.includes(id));
      const out = await this.sharedMessageIds(conversationId, recipientId, rest);
      for (const id of v2Ids) out.add(id);
      return out;
    }
    const ids = [...new Set(messageIds)];
    // A message can be shared by several members: the limit leaves room for duplicates of each id.
    const shares = await this.messageShares.forRecipient(conversationId, recipientId, { messageIds: ids, limit: ids.length * 4 });
    return new Set(shares.map((s) => s.message_id));
  }

  /**
   * A member creates a new conversation key version, wrapped for every live device of every member
   * (the same per-device rule as messages). Versions only move forward; 409 if the version exists.
   */
  async createConversationKey(
    conversationId: string,
    userId: string,
    memberIds: readonly string[],
    input: WrappedKeySetInput & { key_version: number; key_check: string },
  ): Promise<ConversationKeyVersionView> {
    if (!Number.isInteger(input.key_version) || input.key_version < 1 || input.key_version > MAX_KEY_VERSION) {
      throw AppError.validation([{ field: 'key_version', problems: [`must be an integer from 1 to ${MAX_KEY_VERSION}`] }]);
    }
    if (!KEY_CHECK_RE.test(input.key_check)) throw AppError.validation([{ field: 'key_check', problems: ['must be 32 lower-case hex characters'] }]);
    const groups = byRecipient(input.encrypted_key, memberIds, 'encrypted_key');
    await this.directory.assertRecipientKeys(memberIds, input.encrypted_key);
    const latest = await this.conversationKeys.latest(conversationId);
    if (latest && latest.key_version >= input.key_version) {
      throw AppError.conflict(`Conversation key version ${latest.key_version} already exists; create a higher version`, { current_version: latest.key_version });
    }
    const now = new Date();
    const created = await this.conversationKeys.create({ conversation_id: conversationId, key_version: input.key_version, key_check: input.key_check, created_by: userId, created_at: now });
    if (!created) {
      throw AppError.conflict(`Conversation key version ${input.key_version} was just created by another member`, { current_version: input.key_version });
    }
    await Promise.all(
      [...groups].map(([recipientId, entries]) =>
        this.conversationShares.upsertShare({
          conversation_id: conversationId,
          key_version: input.key_version,
          recipient_id: recipientId,
          shared_by: userId,
          ephemeral_public_key: input.ephemeral_public_key,
          encrypted_key: plainEntries(entries),
          created_at: now,
        }),
      ),
    );
    const mine = groups.get(userId);
    return {
      key_version: input.key_version,
      key_check: input.key_check,
      created_by: userId,
      created_at: now.toISOString(),
      shares: mine ? [{ shared_by: userId, ephemeral_public_key: input.ephemeral_public_key, encrypted_key: plainEntries(mine), created_at: now.toISOString() }] : [],
    };
  }

  /** A member who holds a conversation key version wraps it for others (new members, new devices). */
  async shareConversationKey(conversationId: string, userId: string, memberIds: readonly string[], keyVersion: number, input: WrappedKeySetInput): Promise<{ recipients: string[] }> {
    if (!Number.isInteger(keyVersion) || !(await this.conversationKeys.getVersion(conversationId, keyVersion))) {
      throw AppError.notFound('Conversation key version');
    }
    const groups = byRecipient(input.encrypted_key, memberIds, 'encrypted_key');
    const now = new Date();
    await Promise.all(
      [...groups].map(([recipientId, entries]) =>
        this.conversationShares.upsertShare({
          conversation_id: conversationId,
          key_version: keyVersion,
          recipient_id: recipientId,
          shared_by: userId,
          ephemeral_public_key: input.ephemeral_public_key,
          encrypted_key: plainEntries(entries),
          created_at: now,
        }),
      ),
    );
    return { recipients: [...groups.keys()] };
  }

  /**
   * Conversation key versions shared with the user (newest first) with their shares, and the newest
   * version that exists at all: if it is above the newest shared one, ask a member to share it.
   */
  async listConversationKeys(conversationId: string, userId: string): Promise<{ current_version: number | null; data: ConversationKeyVersionView[] }> {
    const [latest, shares] = await Promise.all([
      this.conversationKeys.latest(conversationId),
      this.conversationShares.forRecipient(conversationId, userId, CONVERSATION_KEY_VERSIONS_MAX * 4),
    ]);
    const versions = [...new Set(shares.map((s) => s.key_version))].slice(0, CONVERSATION_KEY_VERSIONS_MAX);
    const docs = await this.conversationKeys.versions(conversationId, versions);
    const data = docs.map((v) => ({
      key_version: v.key_version,
      key_check: v.key_check,
      created_by: v.created_by,
      created_at: new Date(v.created_at).toISOString(),
      shares: shares
        .filter((s) => s.key_version === v.key_version)
        .map((s) => ({ shared_by: s.shared_by, ephemeral_public_key: s.ephemeral_public_key, encrypted_key: plainEntries(s.encrypted_key), created_at: new Date(s.created_at).toISOString() })),
    }));
    return { current_version: latest?.key_version ?? null, data };
  }

  /**
   * History re-sharing: a member stores earlier messages' content keys re-wrapped for members who
   * joined later. `existingMessageIds` tells which ids are live messages of the conversation.
   */
  async shareMessageKeys(
    conversationId: string,
    userId: string,
    memberIds: readonly string[],
    shares: Array<WrappedKeySetInput & { message_id: string }>,
    existingMessageIds: (ids: string[]) => Promise<Set<string>>,
  ): Promise<{ stored: number }> {
    if (shares.length === 0) return { stored: 0 };
    if (shares.length > MAX_MESSAGE_SHARES_PER_CALL) {
      throw AppError.validation([{ field: 'shares', problems: [`at most ${MAX_MESSAGE_SHARES_PER_CALL} shares per call`] }]);
    }
    const groups = shares.map((s, i) => byRecipient(s.encrypted_key, memberIds, `shares.${i}.encrypted_key`));
    const ids = [...new Set(shares.map((s) => s.message_id))];
    const existing = await existingMessageIds(ids);
    const unknown = ids.filter((id) => !existing.has(id));
    if (unknown.length) throw new AppError(ErrorCode.NotFound, 'Message not found', { message_ids: unknown });
    const now = new Date();
    let stored = 0;
    for (let i = 0; i < shares.length; i++) {
      const s = shares[i]!;
      await Promise.all(
        [...groups[i]!].map(([recipientId, entries]) =>
          this.messageShares.upsertShare({
            conversation_id: conversationId,
            message_id: s.message_id,
            recipient_id: recipientId,
            shared_by: userId,
            ephemeral_public_key: s.ephemeral_public_key,
            encrypted_key: plainEntries(entries),
            created_at: now,
          }),
        ),
      );
      stored += groups[i]!.size;
    }
    return { stored };
  }

  /** Message key shares addressed to the user, oldest first; optionally only for some messages. */
  async listMessageKeyShares(
    conversationId: string,
    userId: string,
    opts: { messageIds?: string[]; cursor?: string; limit?: number },
  ): Promise<{ data: MessageKeyShareView[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);
    if (opts.cursor !== undefined && !Types.ObjectId.isValid(opts.cursor)) {
      throw AppError.validation([{ field: 'cursor', problems: ['cursor is not valid'] }], 'Invalid cursor');
    }
    const rows = await this.messageShares.forRecipient(conversationId, userId, { afterId: opts.cursor, messageIds: opts.messageIds, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      data: page.map((r) => ({
        id: String(r._id),
        message_id: r.message_id,
        shared_by: r.shared_by,
        ephemeral_public_key: r.ephemeral_public_key,
        encrypted_key: plainEntries(r.encrypted_key),
        created_at: new Date(r.created_at).toISOString(),
      })),
      next_cursor: rows.length > limit ? String(page[page.length - 1]!._id) : null,
    };
  }

  /** A deleted message's key shares are useless: drop them. */
  removeMessageShares(messageId: string): Promise<number> {
    return this.messageShares.removeForMessage(messageId);
  }
}
