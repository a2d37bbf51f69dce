import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { BILLING_MODEL, BillingSchema } from './billing.schema';
import { BillingRepository } from './billing.repository';
import { BillingService } from './billing.service';

/** Needs UsageModule (global) for usage totals and the roll-up. */
@Module({
  imports: [MongooseModule.forFeature([{ name: BILLING_MODEL, schema: BillingSchema }])],
  providers: [BillingRepository, BillingService],
  exports: [BillingService],
})
export class BillingModule {}
