import { Module } from '@nestjs/common';
import { UsersApiModule } from '../users/users-api.module';
import { ConversationsController, UserConversationsController } from './conversations.controller';

/** REST for conversations and membership; services come from the global ChatModule. */
@Module({
  imports: [UsersApiModule],
  controllers: [ConversationsController, UserConversationsController],
})
export class ConversationsApiModule {}
