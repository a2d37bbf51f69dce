import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ChatModule } from '@chat/chat';
import { KeysModule } from '@chat/keys';
import { ReportsModule } from '@chat/reports';
import { ReportsAdminController } from './reports-admin.controller';

/** The moderation queue under /admin. Acting on a report deletes through the chat core, so it is loaded here too (one instance in the all-in-one app). */
@Module({ imports: [AuthModule, ChatModule, KeysModule, ReportsModule], controllers: [ReportsAdminController] })
export class ReportsAdminModule {}
