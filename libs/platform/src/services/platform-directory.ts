import { Injectable, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { asTenantId, TenantId } from '@chat/tenancy';
import { PlatformEvents } from '../events/platform-events';
import type { TenantQuotas } from '@chat/contracts';
import { effectiveQuotas } from '../plans';
import { ApiKeyRepository } from '../repositories/api-key.repository';
import { ApplicationRepository } from '../repositories/application.repository';
import { ClientRepository } from '../repositories/client.repository';
import type { ApiKeyDoc } from '../schemas/api-key.schema';
import type { TenantStatus } from '../schemas/client.schema';
import { SecretBox } from '../secrets/secret-box';
import { TtlCache } from './ttl-cache';

export interface TenantInfo {
  id: TenantId;
  name: string;
  status: TenantStatus;
  plan: string;
  region: string;
  quotas: TenantQuotas;
}

export interface ApplicationInfo {
  id: string;
  tenantId: TenantId;
  secretVersion: number;
  /** Current signing secret first, then the pre-rotation one while its grace period lasts. */
  secrets: Array<{ secret: string; version: number; expiresAt?: number }>;
}

/**
 * Read side of the platform collections for the hot path (every authenticated request): tenants,
 * applications (with decrypted secrets) and API keys, cached in-process for at most
 * PLATFORM_CACHE_TTL_SECONDS and cleared at once by PlatformEvents on every node.
 */
@Injectable()
export class PlatformDirectory implements OnModuleInit {
  private readonly tenants: TtlCache<TenantInfo | null>;
  private readonly apps: TtlCache<ApplicationInfo | null>;
  private readonly keys: TtlCache<ApiKeyDoc | null>;

  constructor(
    config: AppConfig,
    private readonly clients: ClientRepository,
    private readonly applications: ApplicationRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly box: SecretBox,
    private readonly events: PlatformEvents,
  ) {
    const ttl = config.PLATFORM_CACHE_TTL_SECONDS * 1000;
    this.tenants = new TtlCache(ttl);
    this.apps = new TtlCache(ttl);
    this.keys = new TtlCache(ttl, 50_000);
  }

  onModuleInit(): void {
    const dropTenant = ({ tenantId }: { tenantId: TenantId }) => this.invalidateTenant(tenantId);
    this.events.on('tenant.suspended', dropTenant);
    this.events.on('tenant.reactivated', dropTenant);
    this.events.on('tenant.updated', dropTenant);
    this.events.on('tenant.deleted', dropTenant);
    this.events.on('api_key.revoked', ({ prefix }) => this.keys.delete(prefix));
    this.events.on('api_key.updated', ({ prefix }) => this.keys.delete(prefix));
    this.events.on('application.updated', ({ applicationId }) => this.apps.delete(applicationId));
  }

  invalidateTenant(tenantId: string): void {
    this.tenants.delete(tenantId);
    this.apps.deleteWhere((a) => a?.tenantId === tenantId);
    this.keys.deleteWhere((k) => k?.tenant_id === tenantId);
  }

  tenant(tenantId: string): Promise<TenantInfo | null> {
    return this.tenants.get(tenantId, async () => {
      const c = await this.clients.findById(tenantId);
      if (!c) return null;
      return {
        id: asTenantId(c._id.toHexString()),
        name: c.name,
        status: c.status,
        plan: c.plan,
        region: c.region,
        quotas: effectiveQuotas(c.plan, c.quotas),
      };
    });
  }

  application(applicationId: string): Promise<ApplicationInfo | null> {
    return this.apps.get(applicationId, async () => {
      const a = await this.applications.findById(applicationId);
      if (!a) return null;
      const secrets: ApplicationInfo['secrets'] = [{ secret: this.box.open(a.secret_enc), version: a.secret_version }];
      if (a.previous_secret_enc && a.previous_secret_expires_at && a.previous_secret_expires_at.getTime() > Date.now()) {
        secrets.push({ secret: this.box.open(a.previous_secret_enc), version: a.secret_version - 1, expiresAt: a.previous_secret_expires_at.getTime() });
      }
      return { id: a._id.toHexString(), tenantId: asTenantId(a.tenant_id), secretVersion: a.secret_version, secrets };
    });
  }

  apiKeyByPrefix(prefix: string): Promise<ApiKeyDoc | null> {
    return this.keys.get(prefix, () => this.apiKeys.findByPrefix(prefix));
  }

  dropApiKey(prefix: string): void {
    this.keys.delete(prefix);
  }

  dropApplication(applicationId: string): void {
    this.apps.delete(applicationId);
  }
}

