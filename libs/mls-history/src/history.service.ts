import { Injectable } from '@nestjs/common';
import { ConversationsService } from '@chat/chat';
import { Clock } from '@chat/clock';
import { AppError, ErrorCode } from '@chat/errors';
import { KeySharesService } from '@chat/keys';
import { MlsDeliveryService } from '@chat/mls';
import { HistoryBundleRecord, HistoryBundlesRepository, HistorySettingsRepository } from './mls-history.repository';
import { DEFAULT_HISTORY_VISIBILITY, HistoryVisibility } from './mls-history.schema';

/** Bundles one conversation may hold (one per membership change, each a few KB). */
export const MAX_HISTORY_BUNDLES = 1000;

export interface HistoryInfoView {
  conversation_id: string;
  history_visibility: HistoryVisibility;
  /** The caller's membership: when they joined, and the conversation's seq at that moment (messages up to it were not for them). */
  joined_at: string;
  joined_seq: number;
  /**
   * The first MLS epoch a device of the caller was in the group (MlsDeliveryService.memberSinceEpoch;
   * null: no group yet). Earlier epochs' messages were sent before they were a member: 'not_a_member_then'.
   */
  joined_epoch: number | null;
}

export interface HistoryBundleView {
  id: string;
  group_id: string;
  epoch: number;
  sender_user_id: string;
  sender_device_id: string;
  ciphertext: string;
  created_at: Date;
}

/**
 * Conversation history visibility (`joined` | `shared`) and history bundles (docs/e2e-crypto.md):
 * with `shared` a member device that adds someone stores the earlier epoch keys encrypted for the new
 * epoch, and the new member's devices fetch them; with `joined` the server refuses bundles.
 */
@Injectable()
export class MlsHistoryService {
  constructor(
    private readonly settings: HistorySettingsRepository,
    private readonly bundles: HistoryBundlesRepository,
    private readonly conversations: ConversationsService,
    private readonly ds: MlsDeliveryService,
    private readonly clock: Clock,
    keyShares: KeySharesService,
  ) {
    // With `shared`, earlier v2 messages are in a later member's history (they read them with a bundle's keys).
    keyShares.useHistoryVisibility(async (conversationId) => (await this.visibility(conversationId)) === 'shared');
  }

  async visibility(conversationId: string): Promise<HistoryVisibility> {
    return (await this.settings.visibility(conversationId)) ?? DEFAULT_HISTORY_VISIBILITY;
  }

  async info(conversationId: string, userId: string): Promise<HistoryInfoView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const me = conv.participants.find((p) => p.user_id === userId)!;
    const [visibility, joinedEpoch] = await Promise.all([this.visibility(conversationId), this.ds.memberSinceEpoch(conversationId, userId, new Date(me.joined_at))]);
    return { conversation_id: conversationId, history_visibility: visibility, joined_at: me.joined_at, joined_seq: me.joined_seq, joined_epoch: joinedEpoch };
  }

  /** Owners and admins set it; it applies to members added from then on. */
  async setVisibility(conversationId: string, userId: string, visibility: HistoryVisibility): Promise<HistoryInfoView> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    const me = conv.participants.find((p) => p.user_id === userId)!;
    if (me.role !== 'owner' && me.role !== 'admin') throw AppError.forbidden('Only owners and admins change the history visibility');
    await this.settings.set(conversationId, visibility, userId, new Date(this.clock.now()));
    return this.info(conversationId, userId);
  }

  async addBundle(conversationId: string, userId: string, input: { device_id: string; group_id: string; epoch: number; ciphertext: string }): Promise<HistoryBundleView> {
    await this.conversations.requireMember(conversationId, userId);
    if ((await this.visibility(conversationId)) !== 'shared') {
      throw new AppError(ErrorCode.Forbidden, "This conversation's history visibility is 'joined': earlier history is not shared with new members", { history_visibility: 'joined' });
    }
    const group = await this.ds.group(conversationId, userId);
    if (group.group_id !== input.group_id) throw AppError.validation([{ field: 'group_id', problems: ["is not this conversation's MLS group"] }]);
    if (input.epoch > group.epoch) throw AppError.conflict('The bundle is for an epoch the group has not reached', { epoch: group.epoch });
    if ((await this.bundles.countFor(conversationId)) >= MAX_HISTORY_BUNDLES) {
      throw new AppError(ErrorCode.QuotaExceeded, `A conversation holds at most ${MAX_HISTORY_BUNDLES} history bundles`, { limit: MAX_HISTORY_BUNDLES });
    }
    const rec = await this.bundles.add({
      conversation_id: conversationId,
      group_id: input.group_id,
      epoch: input.epoch,
      sender_user_id: userId,
      sender_device_id: input.device_id,
      ciphertext: input.ciphertext,
      created_at: new Date(this.clock.now()),
    });
    return toBundleView(rec);
  }

  async listBundles(conversationId: string, userId: string, q: { cursor?: string; limit?: number }): Promise<{ data: HistoryBundleView[]; next_cursor: string | null }> {
    await this.conversations.requireMember(conversationId, userId);
    const limit = q.limit ?? 100;
    const rows = await this.bundles.page(conversationId, { cursor: q.cursor, limit });
    return { data: rows.map(toBundleView), next_cursor: rows.length === limit ? rows[rows.length - 1]!._id.toHexString() : null };
  }
}

function toBundleView(r: HistoryBundleRecord): HistoryBundleView {
  return { id: r._id.toHexString(), group_id: r.group_id, epoch: r.epoch, sender_user_id: r.sender_user_id, sender_device_id: r.sender_device_id, ciphertext: r.ciphertext, created_at: r.created_at };
}
