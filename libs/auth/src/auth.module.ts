import { Global, Module } from '@nestjs/common';
import { AuditModule } from '@chat/audit';
import { UserBansModule } from '@chat/moderation';
import { PlatformModule } from '@chat/platform';
import { QuotasModule } from '@chat/quotas';
import { AdminTokenService } from './admin-token.service';
import { AdminAuthGuard, ApiKeyGuard, ApiKeyOrUserGuard, UserAuthGuard } from './guards';
import { UserTokenService } from './user-token.service';
import { WhoAmIController } from './whoami.controller';

/**
 * Everything authentication needs, in one import for every app: platform data (tenants, apps, keys,
 * admins, PlatformEvents), audit, quotas, the guards and the token services. Global, so feature
 * modules can use the decorators without importing anything.
 */
@Global()
@Module({
  imports: [PlatformModule, AuditModule, QuotasModule, UserBansModule],
  providers: [AdminTokenService, UserTokenService, ApiKeyGuard, UserAuthGuard, ApiKeyOrUserGuard, AdminAuthGuard],
  exports: [PlatformModule, AuditModule, QuotasModule, UserBansModule, AdminTokenService, UserTokenService, ApiKeyGuard, UserAuthGuard, ApiKeyOrUserGuard, AdminAuthGuard],
})
export class AuthModule {}

/** For the public API app: AuthModule plus `GET /v1/auth/whoami`. */
@Module({
  imports: [AuthModule],
  controllers: [WhoAmIController],
})
export class AuthApiModule {}
