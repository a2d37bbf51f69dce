import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { ApplicationsController } from './applications/applications.controller';
import { AdminAuthController } from './auth/admin-auth.controller';
import { AuditLogsController } from './audit-logs/audit-logs.controller';
import { AdminBootstrap } from './common/admin-bootstrap';
import { AuditInterceptor } from './common/audited';
import { TenantsController } from './tenants/tenants.controller';
import { UserBansAdminController } from './moderation/user-bans-admin.controller';

/** The admin API: admins, tenants, applications, API keys, audit log; bootstraps the first admin. */
@Module({
  imports: [AuthModule],
  controllers: [AdminAuthController, TenantsController, ApplicationsController, ApiKeysController, AuditLogsController, UserBansAdminController],
  providers: [AdminBootstrap, AuditInterceptor],
})
export class AdminPlatformModule {}
