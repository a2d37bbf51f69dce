import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { UsageModule } from '@chat/usage';
import { BillingModule } from '@chat/billing';
import { BillingAdminController } from './billing-admin.controller';

@Module({
  imports: [AuthModule, UsageModule, BillingModule],
  controllers: [BillingAdminController],
})
export class BillingAdminModule {}
