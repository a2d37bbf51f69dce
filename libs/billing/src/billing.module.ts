import { Module } from '@nestjs/common';
import { UsageModule } from '@chat/usage';
import { MongooseModule } from '@nestjs/mongoose';
import { BILLING_MODEL, BillingSchema } from './billing.schema';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';

/** Monthly bills from usage totals and the roll-up (UsageModule). */
@Module({
  imports: [UsageModule, MongooseModule.forFeature([{ name: BILLING_MODEL, schema: BillingSchema }])],
  providers: [BillingRepository, BillingService],
  exports: [BillingService],
})
export class BillingModule {}
