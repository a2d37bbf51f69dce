import { Module } from '@nestjs/common';
import { ReportsModule } from '@chat/reports';
import { ModerationReportsController, ReportMessageController } from './reports.controller';

@Module({ imports: [ReportsModule], controllers: [ReportMessageController, ModerationReportsController] })
export class ReportsApiModule {}
