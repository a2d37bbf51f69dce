import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { UsageModule } from '@chat/usage';
import { UsageController } from './usage.controller';

/** Usage reads for a tenant (REST). */
@Module({ imports: [AuthModule, UsageModule], controllers: [UsageController] })
export class UsageApiModule {}
