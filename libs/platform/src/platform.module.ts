import { join, resolve } from 'node:path';
import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AppConfig } from '@chat/config';
import { PlatformEvents } from './events/platform-events';
import { ApiKeyRepository } from './repositories/api-key.repository';
import { ApplicationRepository } from './repositories/application.repository';
import { ClientRepository } from './repositories/client.repository';
import { PlatformAdminRepository } from './repositories/platform-admin.repository';
import { TenantDataRepository } from './repositories/tenant-data.repository';
import { API_KEY_MODEL, ApiKeySchema } from './schemas/api-key.schema';
import { APPLICATION_MODEL, ApplicationSchema } from './schemas/application.schema';
import { CLIENT_MODEL, ClientSchema } from './schemas/client.schema';
import { PLATFORM_ADMIN_MODEL, PlatformAdminSchema } from './schemas/platform-admin.schema';
import { loadOrCreateLocalSecret } from './secrets/local-secret';
import { SecretBox } from './secrets/secret-box';
import { ApiKeyService } from './services/api-key.service';
import { ApplicationService } from './services/application.service';
import { PlatformAdminService } from './services/platform-admin.service';
import { PlatformDirectory } from './services/platform-directory';
import { TenantService } from './services/tenant.service';

/** The key that seals application secrets: APP_SECRET_ENCRYPTION_KEY, else (outside production) a local file. */
export function secretBoxFor(config: AppConfig): SecretBox {
  if (config.APP_SECRET_ENCRYPTION_KEY) return new SecretBox(SecretBox.parseKey(config.APP_SECRET_ENCRYPTION_KEY));
  return new SecretBox(loadOrCreateLocalSecret(join(resolve(config.DATA_DIR), 'app-secret-key')));
}

/** Tenants (clients), applications, API keys and platform admins, plus the cross-node PlatformEvents. */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: CLIENT_MODEL, schema: ClientSchema },
      { name: APPLICATION_MODEL, schema: ApplicationSchema },
      { name: API_KEY_MODEL, schema: ApiKeySchema },
      { name: PLATFORM_ADMIN_MODEL, schema: PlatformAdminSchema },
    ]),
  ],
  providers: [
    { provide: SecretBox, inject: [AppConfig], useFactory: secretBoxFor },
    PlatformEvents,
    ClientRepository,
    ApplicationRepository,
    ApiKeyRepository,
    PlatformAdminRepository,
    TenantDataRepository,
    PlatformDirectory,
    TenantService,
    ApplicationService,
    ApiKeyService,
    PlatformAdminService,
  ],
  exports: [PlatformEvents, PlatformDirectory, TenantService, ApplicationService, ApiKeyService, PlatformAdminService],
})
export class PlatformModule {}
