import { Module } from '@nestjs/common';
import { CoreModule } from '@chat/server';
import { AdminPlatformModule } from './admin-platform.module';
import { UsageModule } from '@chat/usage';
import { BillingAdminModule } from './billing/billing-admin.module';
import { RetentionModule } from '@chat/retention';
import { WebhooksAdminModule } from './webhooks/webhooks-admin.module';
import { ReportsAdminModule } from './reports/reports-admin.module';

/** Platform administration under /admin: tenants, applications, API keys, quotas, audit. */
@Module({
  imports: [CoreModule, AdminPlatformModule, UsageModule, BillingAdminModule, RetentionModule, WebhooksAdminModule, ReportsAdminModule],
})
export class AdminModule {}
