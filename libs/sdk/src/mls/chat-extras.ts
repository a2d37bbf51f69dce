/**
 * Previews, reactions and search for MlsChat (docs/e2e.md, "Previews, reactions and search (v2)"), keyed
 * by epoch history keys (purpose-keys.ts) instead of v1's conversation key: no key is wrapped per
 * device, and whoever holds an epoch's key (a device of that epoch, the key backup, a history bundle)
 * reads what was made with it. v1 previews, reactions and tokens are read through the E2EChat given
 * as `v1`, when there is one.
 */
import type { E2EChat, MessagePayload } from '../e2e-client';
import { isChatApiError } from '../errors';
import type { MessageView } from '../types';
import type { ChatUserClient } from '../user-client';
import type { ChatHistory } from './chat-history';
import { isV2Content } from './content';
import { MlsDecryptError, MlsError } from './errors';
import type { EpochKeyStore } from './history-keys';
import { decryptPreviewV2, decryptReactionV2, encryptPreviewV2, encryptReactionV2, isReactionV2Token, parsePreviewV2, searchTokensV2 } from './purpose-keys';

/** Token sets (epochs) per search request: the server's limit (SearchMessagesDto). */
export const SEARCH_SETS_PER_REQUEST = 32;
/** Words of a query kept (the server takes 1-16 tokens per set). */
export const SEARCH_WORDS_PER_QUERY = 16;
/** Epochs searched by default: the newest 256 this device holds keys for (8 requests). */
export const DEFAULT_SEARCH_EPOCHS = 256;
/** Tokens per message (the server's limit, as v1). */
const MAX_TOKENS_PER_MESSAGE = 512;

export interface ChatExtrasContext {
  client: ChatUserClient;
  keys: EpochKeyStore;
  history: ChatHistory;
  tenantId: string;
  /** The conversation's MLS group id (hex), opening nothing: null when it has none. */
  groupId(conversationId: string): Promise<string | null>;
  /** An epoch's history key: held, after catching up with the stream, or from history bundles (MlsChat). */
  epochKey(conversationId: string, groupId: string, epoch: bigint): Promise<Uint8Array | undefined>;
  v1?: E2EChat;
  /** Blind-index tokens on send (default true; docs/search.md says what the server learns). */
  searchIndex: boolean;
}

export interface SearchV2Options {
  /** Results wanted (default 20, at most 100). */
  limit?: number;
  /** Newest epochs searched (default 256); older epochs' messages are not found. */
  maxEpochs?: number;
}

export class ChatExtras {
  constructor(private readonly ctx: ChatExtrasContext) {}

  /** The preview and search tokens of a send sealed at (group, epoch) with `key` (MlsChat.prepareInput). */
  indexFields(conversationId: string, groupId: string, epoch: bigint, key: Uint8Array, payload: MessagePayload, indexText?: string): { preview?: string; search_tokens?: string[] } {
    const text = indexText ?? (payload.kind === 'text' ? payload.text : undefined);
    if (text === undefined) return {};
    const out: { preview?: string; search_tokens?: string[] } = {
      preview: encryptPreviewV2(text, key, { tenantId: this.ctx.tenantId, conversationId, groupId, epoch }),
    };
    if (this.ctx.searchIndex) {
      const tokens = searchTokensV2(text, key).slice(0, MAX_TOKENS_PER_MESSAGE);
      if (tokens.length) out.search_tokens = tokens;
    }
    return out;
  }

  /** A conversation list item's `last_message.content_preview` in clear; null when no key of this device opens it. */
  async preview(conversationId: string, encrypted: string | null | undefined): Promise<string | null> {
    if (!encrypted) return null;
    const ref = parsePreviewV2(encrypted);
    if (!ref) return this.ctx.v1 ? this.ctx.v1.preview(conversationId, encrypted).catch(() => null) : null;
    const key = await this.ctx.epochKey(conversationId, ref.groupId, ref.epoch);
    if (!key) return null;
    try {
      return decryptPreviewV2(encrypted, key, { tenantId: this.ctx.tenantId, conversationId });
    } catch {
      return null; // altered, or moved from another conversation
    }
  }

  /** The key of the epoch a v2 message was sealed in, or a MlsDecryptError saying why there is none. */
  private async messageKey(message: MessageView): Promise<Uint8Array> {
    const content = message.content as unknown;
    if (!isV2Content(content)) throw new MlsError('INVALID_INPUT', 'not a v2 message');
    const key = await this.ctx.epochKey(message.conversation_id, content.group_id, BigInt(content.epoch));
    if (key) return key;
    const reason = await this.ctx.history.missingReason(message.conversation_id, { seq: message.seq, epoch: BigInt(content.epoch) }).catch((err: unknown) => {
      if (isChatApiError(err, 'not_found')) return 'not_a_member_then' as const;
      throw err;
    });
    throw new MlsDecryptError(reason, `no key for epoch ${content.epoch}`);
  }

  /** The reaction token for `emoji` on this message: under its epoch's key (v2) or the conversation key (v1). */
  private async reactionToken(message: MessageView, emoji: string): Promise<string> {
    return encryptReactionV2(emoji, await this.messageKey(message), { conversationId: message.conversation_id, messageId: message.id });
  }

  async react(message: MessageView, emoji: string): Promise<MessageView> {
    if (!isV2Content(message.content)) return this.v1('reactions on v1 messages').react(message.conversation_id, message.id, emoji);
    return this.ctx.client.addReaction(message.conversation_id, message.id, await this.reactionToken(message, emoji));
  }

  async unreact(message: MessageView, emoji: string): Promise<MessageView> {
    if (!isV2Content(message.content)) return this.v1('reactions on v1 messages').unreact(message.conversation_id, message.id, emoji);
    return this.ctx.client.removeReaction(message.conversation_id, message.id, await this.reactionToken(message, emoji));
  }

  /** The message's reactions in clear; those no key of this device opens are left out (as v1). */
  async reactions(message: MessageView): Promise<Array<{ user_id: string; emoji: string }>> {
    const out: Array<{ user_id: string; emoji: string }> = [];
    const v2 = message.reactions.filter((r) => isReactionV2Token(r.emoji));
    if (v2.length && isV2Content(message.content)) {
      const key = await this.messageKey(message).catch(() => undefined);
      for (const r of key ? v2 : []) {
        try {
          out.push({ user_id: r.user_id, emoji: decryptReactionV2(r.emoji, key!, { conversationId: message.conversation_id, messageId: message.id }) });
        } catch {
          // not made with this epoch's key (or altered)
        }
      }
    }
    if (this.ctx.v1 && message.reactions.length > v2.length) out.push(...(await this.ctx.v1.reactions(message).catch(() => [])));
    return out;
  }

  /**
   * Blind-index search: the query's tokens under each epoch key this device holds for the
   * conversation's group (newest `maxEpochs`, one token set per epoch, 32 sets per request), plus v1
   * conversation keys through `v1`. Results newest first (by seq), at most `limit`.
   */
  async search(conversationId: string, query: string, opts: SearchV2Options = {}): Promise<MessageView[]> {
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const found = new Map<string, MessageView>();
    const groupId = await this.ctx.groupId(conversationId);
    if (groupId) {
      // Keys of epochs before this device joined may still be in the history bundles (read once per handshake).
      await this.ctx.history.fromBundles(conversationId, groupId, 0n).catch(() => undefined);
      const epochs = [...(await this.ctx.keys.entries())]
        .filter((e) => e.groupId === groupId)
        .sort((a, b) => (a.epoch < b.epoch ? 1 : a.epoch > b.epoch ? -1 : 0))
        .slice(0, opts.maxEpochs ?? DEFAULT_SEARCH_EPOCHS);
      const sets = epochs.map((e) => searchTokensV2(query, e.key).slice(0, SEARCH_WORDS_PER_QUERY)).filter((t) => t.length > 0);
      for (let i = 0; i < sets.length; i += SEARCH_SETS_PER_REQUEST) {
        const page = await this.ctx.client.searchTokenSets(conversationId, sets.slice(i, i + SEARCH_SETS_PER_REQUEST), { limit });
        for (const m of page.data) found.set(m.id, m);
      }
    }
    if (this.ctx.v1) for (const m of await this.ctx.v1.search(conversationId, query).catch(() => [])) found.set(m.id, m);
    return [...found.values()].sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  private v1(what: string): E2EChat {
    if (!this.ctx.v1) throw new MlsError('INVALID_INPUT', `${what} need an E2EChat as \`v1\``);
    return this.ctx.v1;
  }
}
