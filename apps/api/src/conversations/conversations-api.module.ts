import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ChatModule } from '@chat/chat';
import { ConversationsController, UserConversationsController } from './conversations.controller';

/** REST for conversations and membership; services from ChatModule. */
@Module({
  imports: [AuthModule, ChatModule],
  controllers: [ConversationsController, UserConversationsController],
})
export class ConversationsApiModule {}
