import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ConversationsModule } from '../conversations/conversations.module';
import { UsersModule } from '../users/users.module';
import { MESSAGE_MODEL, MessageSchema } from './message.schema';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';

/** Messages: the write path (group commit), threads, reactions, receipts, history and search. */
@Module({
  imports: [UsersModule, ConversationsModule, MongooseModule.forFeature([{ name: MESSAGE_MODEL, schema: MessageSchema }])],
  providers: [MessagesRepository, MessagesService],
  exports: [MessagesRepository, MessagesService],
})
export class MessagesModule {}
