import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable, Optional } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { KeyDirectoryService } from '@chat/keys';
import { QuotaService } from '@chat/quotas';
import { TenantContext, TenantId } from '@chat/tenancy';
import { ConversationsService } from '../conversations/conversations.service';
import { ConversationView } from '../conversations/conversation.views';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { canonicalConversationId } from '../conversations/conversation-id';
import { RelationshipsService } from '../relationships/relationships.service';
import { SendMessageDto } from './message.dto';
import { MessageContent } from './message.schema';
import { MessageView, toMessageView } from './message.view';
import { messageDraft } from './message-draft';
import type { SendOutcome } from './message-batch-contract';
import { MessageWriteBatcher } from './message-write-batcher';
import { MessageCommitEffects } from './message-commit-effects';
import { checkEnvelope, checkMentions, dedupe, memberIdsOf, plainContent } from './message-rules';
import { MessageStore } from './message-store';
import { MessagesRepository } from './messages.repository';
import { takeGateClaim } from './send-claims';
import { SendReads, takeGateReads } from './send-reads';
import { SendOrder } from './send-order';
import { E2eV2Gate, isV2, startRecipientCheck } from './e2e-v2';

/**
 * Sending: the one write path used by REST and the socket gateway. A send is checked (membership,
 * block, envelope, recipient keys, mentions, thread parent, quota), then queued on the group-commit
 * batcher, and resolves once the message is durably stored.
 */
@Injectable()
export class MessageSendService implements BeforeApplicationShutdown {
  readonly batcher: MessageWriteBatcher;
  private readonly sendOrder = new SendOrder();

  constructor(
    private readonly repo: MessagesRepository,
    private readonly conversations: ConversationsService,
    private readonly relationships: RelationshipsService,
    private readonly config: AppConfig,
    // Per-device recipient rule (libs/keys): a wrapped key for every live device of every member.
    private readonly keyDirectory: KeyDirectoryService,
    store: MessageStore,
    private readonly commitEffects: MessageCommitEffects,
    // Optional so the chat lib also boots in apps that do not load quotas (CLI, unit wiring).
    @Optional() private readonly quotas?: QuotaService,
    // E2E v2 send check, bound by the MLS Delivery Service (libs/mls); absent: v2 is refused.
    @Optional() @Inject(E2eV2Gate) private readonly v2Gate?: E2eV2Gate,
  ) {
    // Control flows one way: the batcher writes through the store, then hands each stored batch to the commit step.
    this.batcher = new MessageWriteBatcher(
      store,
      {
        windowMs: config.MESSAGE_BATCH_WINDOW_MS,
        maxBatch: config.MESSAGE_BATCH_MAX,
        concurrency: config.MESSAGE_BATCH_CONCURRENCY,
        queueMax: config.MESSAGE_BATCH_QUEUE_MAX,
      },
      commitEffects,
    );
  }

  /**
   * Before connections close (onApplicationShutdown): queued sends are written and answered, new ones
   * get 503; then the last_message writes they left pending are made (each bounded by the grace).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.batcher.drain(this.config.SHUTDOWN_GRACE_MS || 10_000);
    await this.commitEffects.drain(this.config.SHUTDOWN_GRACE_MS || 10_000);
  }

  /**
   * Sends a message as `senderId`. Resolves once the message is durably stored with its seq; a repeated
   * client_msg_id resolves to the original message with duplicate=true.
   */
  async send(senderId: string, givenId: string, dto: SendMessageDto): Promise<{ message: MessageView; duplicate: boolean }> {
    const tenantId = TenantContext.requireTenantId('messages');
    // One spelling for everything keyed by the id (send order, MLS gate, moderation state, the stored message).
    const conversationId = canonicalConversationId(givenId);
    this.batcher.assertAccepting();
    const turn = this.sendOrder.enter(`${tenantId}\u0000${senderId}\u0000${conversationId}`);
    try {
      if (turn.waits) await turn.ready;
      const reads = takeGateReads(senderId, conversationId, dto) ?? this.startReads(senderId, conversationId, dto);
      const { stored } = await this.checkAndSubmit(tenantId, senderId, conversationId, dto, reads);
      turn.release();
      const { message, duplicate } = await stored;
      return { message: toMessageView(message), duplicate };
    } finally {
      turn.release();
    }
  }

  /**
   * A send's cached reads, started now (SendReads); the socket gate starts them in its own tick, so
   * they share the access check's MGET (call inside the send's TenantContext). The send's checks run
   * later, in their order; a read nobody awaits (the event was refused first) is dropped.
   */
  prepare(senderId: string, givenId: string, dto: SendMessageDto): SendReads {
    return this.startReads(senderId, canonicalConversationId(givenId), dto);
  }

  private startReads(senderId: string, conversationId: string, dto: SendMessageDto): SendReads {
    const membership = this.conversations.requireMember(conversationId, senderId);
    membership.catch(() => undefined);
    // Refused by the membership check (404): nothing else is read for a malformed id.
    if (!ConversationsRepository.isId(conversationId)) {
      const never = () => membership.then(() => undefined);
      return { senderId, conversationId, dto, membership, recipientCheck: never, policyCheck: never, blockRead: null };
    }
    return {
      senderId,
      conversationId,
      dto,
      membership,
      recipientCheck: startRecipientCheck(this.keyDirectory, this.v2Gate, conversationId, dto.content),
      policyCheck: this.conversations.startSendPolicy(conversationId),
      blockRead: this.startBlockRead(senderId, dto.content),
    };
  }

  /** Everything a send checks, then the (synchronous) queueing; the caller awaits the durable write. */
  private async checkAndSubmit(tenantId: TenantId, senderId: string, conversationId: string, dto: SendMessageDto, reads: SendReads): Promise<{ stored: Promise<SendOutcome> }> {
    // Each check runs, and refuses, in the order below, on reads started together (SendReads).
    const { recipientCheck, policyCheck } = reads;
    const conv = await reads.membership;
    if (conv.type === 'direct') await this.checkDirectNotBlocked(conv, senderId, reads.blockRead);
    const memberIds = memberIdsOf(conv);
    checkEnvelope(dto.content, dto.search_tokens, this.config.MESSAGE_MAX_BYTES);
    await recipientCheck(memberIds);
    checkMentions(dto.mentions, memberIds);
    let parentId: string | null = null;
    if (dto.thread_parent_id) {
      const parent = await this.repo.findInConversation(conversationId, dto.thread_parent_id);
      if (!parent || parent.deleted_at) throw AppError.notFound('Parent message');
      if (parent.thread?.parent_id) {
        throw AppError.validation([{ field: 'thread_parent_id', problems: ['replies cannot have replies: reply to the thread root'] }]);
      }
      parentId = String(parent._id);
    }
    // Moderation (muted, frozen, slow mode): last, so a send refused for its content never uses a slow-mode turn.
    await policyCheck(conv, senderId);
    await this.quotas?.consumeMessages(tenantId, 1);
    const now = new Date();
    // Wrapped, so the caller gets the queued write without waiting for it (an awaited promise would be).
    const stored = this.batcher.submit(
      tenantId,
      messageDraft(
        {
          conversation_id: conversationId,
          sender_id: senderId,
          client_msg_id: dto.client_msg_id ?? randomUUID(),
          content: plainContent(dto.content),
          preview: dto.preview ?? null,
          search_tokens: dedupe(dto.search_tokens ?? []),
          mentions: dedupe(dto.mentions ?? []),
          thread_parent_id: parentId,
        },
        now,
      ),
      // Only a client-chosen id can be a retry; the batch looks all of them up with one query. A socket
      // send's gate claimed the id already (send-claims: gateSendClaim).
      { lookupExisting: dto.client_msg_id !== undefined, claimed: takeGateClaim() },
    );
    return { stored };
  }

  /**
   * A commit accepted by the MLS Delivery Service, written into the conversation's seq stream as the
   * committing member's message (no send checks: the Delivery Service made them), so sync and history
   * deliver commits and messages in one order. Resolves once it is stored.
   */
  async appendHandshake(senderId: string, conversationId: string, content: MessageContent): Promise<MessageView> {
    const tenantId = TenantContext.requireTenantId('messages');
    const now = new Date();
    const { message } = await this.batcher.submit(
      tenantId,
      messageDraft({ conversation_id: conversationId, sender_id: senderId, client_msg_id: randomUUID(), content }, now),
      { lookupExisting: false },
    );
    return toMessageView(message);
  }

  /**
   * A v1 envelope for a direct conversation names the sender and the other member: that member's block
   * list is read now, with the membership read (one MGET, not a second round trip after it). Only when
   * the envelope names exactly one other user (a direct conversation, or a group of two); the answer is
   * used only if the conversation turns out to be direct with that member, and a failed read is made
   * again where it was made before.
   */
  private startBlockRead(senderId: string, content: SendMessageDto['content']): { userId: string; blocked: Promise<boolean | null> } | null {
    if (isV2(content)) return null;
    const others = new Set<string>();
    for (const e of content.encrypted_key ?? []) if (typeof e.user_id === 'string' && e.user_id !== senderId) others.add(e.user_id);
    if (others.size !== 1) return null;
    const userId = others.values().next().value as string;
    return { userId, blocked: this.relationships.isBlocked(userId, senderId).catch(() => null) };
  }

  /** Only for a direct conversation (the caller checks, so a group send makes no promise here). */
  private async checkDirectNotBlocked(conv: ConversationView, senderId: string, early: { userId: string; blocked: Promise<boolean | null> } | null): Promise<void> {
    for (const p of conv.participants) {
      if (p.user_id === senderId) continue;
      const earlyAnswer = early?.userId === p.user_id ? await early.blocked : null;
      if (earlyAnswer ?? (await this.relationships.isBlocked(p.user_id, senderId))) {
        throw AppError.forbidden('This user does not accept your messages');
      }
    }
  }
}
