import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ChatModule } from '@chat/chat';
import { MessagesController } from './messages.controller';

/** REST for messages. */
@Module({ imports: [AuthModule, ChatModule], controllers: [MessagesController] })
export class MessagesApiModule {}
