import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ModerationModule } from '@chat/moderation';
import { ConversationModerationController } from './conversation-moderation.controller';
import { SystemMessagesController } from './system-messages.controller';
import { UserBansController } from './user-bans.controller';

/** REST for moderation and system messages (docs/moderation.md). */
@Module({
  imports: [AuthModule, ModerationModule],
  controllers: [ConversationModerationController, SystemMessagesController, UserBansController],
})
export class ModerationApiModule {}
