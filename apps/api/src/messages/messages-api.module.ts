import { Module } from '@nestjs/common';
import { MessagesController } from './messages.controller';

/** REST for messages; the services come from the global ChatModule. */
@Module({ controllers: [MessagesController] })
export class MessagesApiModule {}
