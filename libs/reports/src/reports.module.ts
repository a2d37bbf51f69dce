import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { WebhooksModule } from '@chat/webhooks';
import { REPORT_MODEL, ReportSchema } from './report.schema';
import { ReportsRepository } from './reports.repository';
import { ReportsService } from './reports.service';

/**
 * Message reports and the moderation queue. Needs the chat core (ChatModule, global) in the process:
 * the api app, and the all-in-one app for the admin routes.
 */
@Module({
  imports: [WebhooksModule, MongooseModule.forFeature([{ name: REPORT_MODEL, schema: ReportSchema }])],
  providers: [ReportsRepository, ReportsService],
  exports: [ReportsService],
})
export class ReportsModule {}
