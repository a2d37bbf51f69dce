import { randomUUID } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { ConversationsService, messageDraft, MessagesService, MessageView, SYSTEM_SENDER_ID, toMessageView } from '@chat/chat';
import { Clock } from '@chat/clock';
import { AppError } from '@chat/errors';
import { QuotaService } from '@chat/quotas';
import { TenantContext } from '@chat/tenancy';

export const SYSTEM_TEXT_MAX = 4000;

/**
 * System messages ("Alice joined"): posted by the SaaS client's server (API key), stored through the
 * same group-commit write path as every message (a seq in the conversation's stream, `message:new` on
 * sockets, history, sync, the `message.new` webhook), marked `type: 'system'`, `e2e: false`, with a
 * plaintext `text` and no encrypted content. End users have no way to create one: their send path
 * takes only an encrypted envelope and never sets `type`.
 */
@Injectable()
export class SystemMessagesService {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
    private readonly clock: Clock,
    @Optional() private readonly quotas?: QuotaService,
  ) {}

  async post(conversationId: string, input: { text: string; client_msg_id?: string }): Promise<{ message: MessageView; duplicate: boolean }> {
    const tenantId = TenantContext.requireTenantId('system message');
    if (!(await this.conversations.getView(conversationId))) throw AppError.notFound('Conversation');
    // Frozen conversations and muted members do not apply: the server speaks for the app.
    this.messages.batcher.assertAccepting();
    await this.quotas?.consumeMessages(tenantId, 1);
    const now = new Date(this.clock.now());
    const { message, duplicate } = await this.messages.batcher.submit(
      tenantId,
      messageDraft(
        {
          conversation_id: conversationId,
          sender_id: SYSTEM_SENDER_ID,
          client_msg_id: input.client_msg_id ?? randomUUID(),
          content: null,
          type: 'system',
          text: input.text,
        },
        now,
      ),
      { lookupExisting: input.client_msg_id !== undefined },
    );
    return { message: toMessageView(message), duplicate };
  }
}
