import { Module } from '@nestjs/common';
import { BillingModule } from '@chat/billing';
import { BillingAdminController } from './billing-admin.controller';

@Module({
  imports: [BillingModule],
  controllers: [BillingAdminController],
})
export class BillingAdminModule {}
