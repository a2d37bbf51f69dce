import { Module } from '@nestjs/common';
import { ConversationsController, UserConversationsController } from './conversations.controller';

/** REST for conversations and membership; services come from the global ChatModule. */
@Module({
  controllers: [ConversationsController, UserConversationsController],
})
export class ConversationsApiModule {}
