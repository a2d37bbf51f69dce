import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ReportsModule } from '@chat/reports';
import { ModerationReportsController, ReportMessageController } from './reports.controller';

@Module({ imports: [AuthModule, ReportsModule], controllers: [ReportMessageController, ModerationReportsController] })
export class ReportsApiModule {}
