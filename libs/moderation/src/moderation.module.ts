import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuditModule } from '@chat/audit';
import { ChatModule } from '@chat/chat';
import { QuotasModule } from '@chat/quotas';
import {
  CONVERSATION_RESTRICTION_MODEL,
  CONVERSATION_SETTINGS_MODEL,
  ConversationRestrictionSchema,
  ConversationSettingsSchema,
} from './conversations/conversation-moderation.schema';
import { ConversationRestrictionsRepository, ConversationSettingsRepository } from './conversations/conversation-moderation.repository';
import { ConversationModerationService } from './conversations/conversation-moderation.service';
import { ModerationPolicy } from './conversations/moderation-policy';
import { SlowModeTurns } from './conversations/slow-mode';
import { PIN_MODEL, PinSchema } from './pins/pin.schema';
import { PinsRepository } from './pins/pins.repository';
import { PinsService } from './pins/pins.service';
import { SystemMessagesService } from './system-messages/system-messages.service';
import { UserBansModule } from './user-bans/user-bans.module';

/**
 * Moderation (docs/moderation.md) for apps with the chat core: per-conversation mutes, bans, freeze,
 * slow mode, pins, system messages, and (through UserBansModule) tenant-wide user bans. Registers its
 * send and admission checks with the chat core at start-up (ModerationPolicy).
 */
@Module({
  imports: [
    ChatModule,
    AuditModule,
    QuotasModule,
    UserBansModule,
    MongooseModule.forFeature([
      { name: CONVERSATION_RESTRICTION_MODEL, schema: ConversationRestrictionSchema },
      { name: CONVERSATION_SETTINGS_MODEL, schema: ConversationSettingsSchema },
      { name: PIN_MODEL, schema: PinSchema },
    ]),
  ],
  providers: [ConversationRestrictionsRepository, ConversationSettingsRepository, ConversationModerationService, SlowModeTurns, ModerationPolicy, PinsRepository, PinsService, SystemMessagesService],
  exports: [UserBansModule, ConversationModerationService, PinsService, SystemMessagesService],
})
export class ModerationModule {}
