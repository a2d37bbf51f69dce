import { Module } from '@nestjs/common';
import { AuditModule } from '@chat/audit';
import { ChatModule } from '@chat/chat';
import { UserBansModule } from '@chat/moderation';
import { PlatformModule } from '@chat/platform';
import { QuotasModule } from '@chat/quotas';
import { AdminTokenService } from './admin-token.service';
import { AdminAuthGuard, ApiKeyGuard, ApiKeyOrUserGuard, UserAuthGuard } from './guards';
import { UserTokenService } from './user-token.service';
import { WhoAmIController } from './whoami.controller';

/**
 * Everything authentication needs, in one import for every app: platform data (tenants, apps, keys,
 * admins, PlatformEvents), audit, quotas, the guards and the token services. A module whose controllers
 * use the guards imports it (the guards resolve their services in that module). The users directory
 * (ChatModule) is what end-user access is checked against.
 */
@Module({
  imports: [PlatformModule, AuditModule, QuotasModule, UserBansModule, ChatModule],
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
