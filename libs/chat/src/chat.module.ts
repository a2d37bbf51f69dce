import { Module } from '@nestjs/common';
import { CacheModule } from '@chat/cache';
import { ConversationsModule } from './conversations/conversations.module';
import { MessagesModule } from './messages/messages.module';
import { UsersModule } from './users/users.module';

/**
 * Chat core: end users, relationships, conversations, messages, search. Imported by every module that
 * uses them. The MLS send check (E2eV2Gate) reaches the send path through libs/mls's global port module.
 */
@Module({
  imports: [CacheModule, UsersModule, ConversationsModule, MessagesModule],
  exports: [UsersModule, ConversationsModule, MessagesModule],
})
export class ChatModule {}
