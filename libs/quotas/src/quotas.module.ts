import { Global, Module } from '@nestjs/common';
import { QuotaService } from './quota.service';
import { RateLimiter } from './rate-limiter';

/** Needs PlatformModule and AuditModule (both global) in the app. */
@Global()
@Module({
  providers: [RateLimiter, QuotaService],
  exports: [RateLimiter, QuotaService],
})
export class QuotasModule {}
