import { Injectable } from '@nestjs/common';
import { ConversationView, MessagesRepository } from '@chat/chat';
import { Clock } from '@chat/clock';
import { AppError, ErrorCode } from '@chat/errors';
import { ActorRef, actorRef, ModerationActor } from '../common/moderation-actor';
import { ModerationTrail } from '../common/moderation-events';
import { ConversationModerationService } from '../conversations/conversation-moderation.service';
import { requireModerator } from '../conversations/moderator';
import { PinRecord, PinsRepository } from './pins.repository';

/** Most pinned messages per conversation. */
export const PINS_MAX = 50;

export interface PinView {
  message_id: string;
  seq: number;
  pinned_by: ActorRef;
  pinned_at: string;
}

const toView = (p: PinRecord): PinView => ({ message_id: p.message_id, seq: p.seq, pinned_by: { type: p.pinned_by.type, id: p.pinned_by.id }, pinned_at: new Date(p.pinned_at).toISOString() });

/**
 * Pinned messages: any member lists them; owners and admins of a group or channel (either member of a
 * direct conversation), the server and platform admins pin and unpin. At most PINS_MAX per conversation.
 */
@Injectable()
export class PinsService {
  constructor(
    private readonly repo: PinsRepository,
    private readonly messages: MessagesRepository,
    private readonly moderation: ConversationModerationService,
    private readonly trail: ModerationTrail,
    private readonly clock: Clock,
  ) {}

  async list(conversationId: string, actor: ModerationActor): Promise<{ data: PinView[]; next_cursor: null }> {
    await this.moderation.requireVisible(conversationId, actor);
    return { data: (await this.repo.list(conversationId, PINS_MAX)).map(toView), next_cursor: null };
  }

  async pin(conversationId: string, actor: ModerationActor, messageId: string): Promise<PinView> {
    return this.trail.attempt('moderation.message_pinned', actor, { type: 'message', id: messageId }, async () => {
      const conv = await this.requirePinner(conversationId, actor);
      const m = await this.messages.findInConversation(conv.id, messageId);
      if (!m || m.deleted_at || m.gap) throw AppError.notFound('Message');
      if ((await this.repo.count(conversationId)) >= PINS_MAX) throw this.full();
      const pin = { conversation_id: conversationId, message_id: String(m._id), seq: m.seq, pinned_by: actorRef(actor), pinned_at: new Date(this.clock.now()) };
      const record = { type: 'moderation.message_pinned', actor, resource: { type: 'message' as const, id: pin.message_id }, data: { conversation_id: conversationId, message_id: pin.message_id, seq: pin.seq } };
      // The webhook event is inserted with the pin (docs/webhooks.md, Durability).
      const trace = this.trail.trace(record);
      if (!(await this.repo.insert(pin, trace))) return this.existing(conversationId, pin.message_id);
      // Two pins racing past the count: the one that lands over the bound takes itself back.
      if ((await this.repo.count(conversationId)) > PINS_MAX) {
        await this.repo.remove(conversationId, pin.message_id);
        throw this.full();
      }
      await this.moderation.notify(conversationId, actor, 'message_pinned', { message_id: pin.message_id, seq: pin.seq });
      await this.trail.record(record, trace);
      return { message_id: pin.message_id, seq: pin.seq, pinned_by: pin.pinned_by, pinned_at: pin.pinned_at.toISOString() };
    });
  }

  async unpin(conversationId: string, actor: ModerationActor, messageId: string): Promise<void> {
    return this.trail.attempt('moderation.message_unpinned', actor, { type: 'message', id: messageId }, async () => {
      await this.requirePinner(conversationId, actor);
      const record = { type: 'moderation.message_unpinned', actor, resource: { type: 'message' as const, id: messageId }, data: { conversation_id: conversationId, message_id: messageId } };
      // The webhook event is written with the unpin (docs/webhooks.md, Durability).
      const trace = this.trail.trace(record);
      if (!(await this.repo.unpin(conversationId, messageId, new Date(this.clock.now()), trace))) throw AppError.notFound('Pin');
      await this.moderation.notify(conversationId, actor, 'message_unpinned', { message_id: messageId });
      await this.trail.record(record, trace);
    });
  }

  private async requirePinner(conversationId: string, actor: ModerationActor): Promise<ConversationView> {
    const conv = await this.moderation.requireVisible(conversationId, actor);
    if (conv.type !== 'direct') requireModerator(conv, actor);
    return conv;
  }

  private async existing(conversationId: string, messageId: string): Promise<PinView> {
    const found = (await this.repo.list(conversationId, PINS_MAX + 1)).find((p) => p.message_id === messageId);
    if (!found) throw AppError.conflict('The pin changed concurrently, retry');
    return toView(found);
  }

  private full(): AppError {
    return new AppError(ErrorCode.Conflict, `A conversation has at most ${PINS_MAX} pinned messages: unpin one first`, { reason: 'pins_full', max: PINS_MAX });
  }
}
