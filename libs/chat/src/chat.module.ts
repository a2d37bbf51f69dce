import { Global, Module } from '@nestjs/common';
import { CacheModule } from '@chat/cache';
import { ConversationsModule } from './conversations/conversations.module';
import { MessagesModule } from './messages/messages.module';
import { UsersModule } from './users/users.module';

/**
 * Chat core: end users, relationships, conversations, messages, search. Feature modules register
 * themselves in `imports`/`exports` below.
 */
@Global()
@Module({
  imports: [CacheModule, UsersModule, ConversationsModule, MessagesModule],
  exports: [UsersModule, ConversationsModule, MessagesModule],
})
export class ChatModule {}
