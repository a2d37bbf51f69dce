import { Global, Module } from '@nestjs/common';
import { ChatEventBus } from './event-bus';

/** The process's one in-process event bus (infrastructure: every app has it, through CoreModule). */
@Global()
@Module({ providers: [ChatEventBus], exports: [ChatEventBus] })
export class EventsModule {}
