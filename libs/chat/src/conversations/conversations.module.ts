import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { UsersModule } from '../users/users.module';
import { CONVERSATION_MODEL, ConversationSchema } from './conversation.schema';
import { ConversationsRepository } from './conversations.repository';
import { ConversationsService } from './conversations.service';
import { ConversationAccess } from './conversation-access';
import { ConversationMembershipService } from './conversation-membership.service';
import { ConversationSeqs } from './conversation-seqs';
import { PendingConversationWrites } from './pending-conversation-writes';

@Module({
  imports: [UsersModule, MongooseModule.forFeature([{ name: CONVERSATION_MODEL, schema: ConversationSchema }])],
  providers: [ConversationsRepository, ConversationSeqs, ConversationAccess, ConversationMembershipService, ConversationsService, PendingConversationWrites],
  exports: [ConversationsRepository, ConversationSeqs, ConversationAccess, ConversationMembershipService, ConversationsService, PendingConversationWrites],
})
export class ConversationsModule {}
