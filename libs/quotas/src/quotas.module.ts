import { Module } from '@nestjs/common';
import { AuditModule } from '@chat/audit';
import { PlatformModule } from '@chat/platform';
import { QuotaService } from './quota.service';
import { RateLimiter } from './rate-limiter';

/** Tenant quotas (plan limits, refusals audited) and the Redis rate limiter they count with. */
@Module({
  imports: [PlatformModule, AuditModule],
  providers: [RateLimiter, QuotaService],
  exports: [RateLimiter, QuotaService],
})
export class QuotasModule {}
