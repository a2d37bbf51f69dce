import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { KeysModule } from '@chat/keys';
import { QuotasModule } from '@chat/quotas';
import { ConversationsModule } from '../conversations/conversations.module';
import { UsersModule } from '../users/users.module';
import { MESSAGE_MODEL, MessageSchema } from './message.schema';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';
import { MessageEditService } from './message-edit.service';
import { MessageQueryService } from './message-query.service';
import { MessageReceiptService } from './message-receipt.service';
import { MessageSendService } from './message-send.service';
import { RecentMessagesCache } from './recent-messages';
import { MessageCommitEffects } from './message-commit-effects';
import { LastMessageWriter } from './last-message-writer';
import { MessageStore } from './message-store';

/** Messages: the write path (group commit), threads, reactions, receipts, history and search. */
@Module({
  imports: [UsersModule, ConversationsModule, KeysModule, QuotasModule, MongooseModule.forFeature([{ name: MESSAGE_MODEL, schema: MessageSchema }])],
  providers: [MessagesRepository, RecentMessagesCache, MessageStore, LastMessageWriter, MessageCommitEffects, MessageSendService, MessageQueryService, MessageEditService, MessageReceiptService, MessagesService],
  exports: [MessagesRepository, RecentMessagesCache, MessageSendService, MessageQueryService, MessageEditService, MessageReceiptService, MessagesService],
})
export class MessagesModule {}
