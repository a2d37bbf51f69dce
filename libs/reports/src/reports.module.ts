import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AuditModule } from '@chat/audit';
import { ChatModule } from '@chat/chat';
import { UserBansModule, UserBansService, userBanPort } from '@chat/moderation';
import { WebhooksModule } from '@chat/webhooks';
import { REPORT_MODEL, ReportSchema } from './report.schema';
import { ReportsRepository } from './reports.repository';
import { REPORTS_USER_BANS, ReportsService } from './reports.service';

/**
 * Message reports and the moderation queue. Needs the chat core (ChatModule, global) in the process:
 * the api app, and the admin app (which loads it for these routes). `ban_user` bans through
 * libs/moderation's tenant-wide ban (userBanPort).
 */
@Module({
  imports: [AuditModule, ChatModule, WebhooksModule, UserBansModule, MongooseModule.forFeature([{ name: REPORT_MODEL, schema: ReportSchema }])],
  providers: [ReportsRepository, ReportsService, { provide: REPORTS_USER_BANS, inject: [UserBansService], useFactory: userBanPort }],
  exports: [ReportsService],
})
export class ReportsModule {}
