import { Module } from '@nestjs/common';
import { RealtimeRelayModule } from '@chat/realtime';
import { CoreModule } from '@chat/server';
import { AdminPlatformModule } from './admin-platform.module';
import { UsageModule } from '@chat/usage';
import { BillingAdminModule } from './billing/billing-admin.module';
import { RetentionModule } from '@chat/retention';
import { WebhooksAdminModule } from './webhooks/webhooks-admin.module';
import { ReportsAdminModule } from './reports/reports-admin.module';

/**
 * Platform administration under /admin: tenants, applications, API keys, quotas, audit. Run on its own
 * it has no socket gateway: RealtimeRelayModule publishes what its writes do to sockets (a tenant-wide
 * ban cutting the user's sockets, retention's deletions) to the gateways through Redis.
 */
@Module({
  imports: [CoreModule, AdminPlatformModule, UsageModule, BillingAdminModule, RetentionModule, WebhooksAdminModule, ReportsAdminModule, RealtimeRelayModule],
})
export class AdminModule {}
