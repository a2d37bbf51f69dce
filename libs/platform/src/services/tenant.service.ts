import { Injectable } from '@nestjs/common';
import { AppError } from '@chat/errors';
import { asTenantId } from '@chat/tenancy';
import { PlatformEvents } from '../events/platform-events';
import { QUOTA_FIELDS, TenantQuotas } from '../plans';
import { ApiKeyRepository } from '../repositories/api-key.repository';
import { ApplicationRepository } from '../repositories/application.repository';
import { ClientRepository } from '../repositories/client.repository';
import type { ClientDoc } from '../schemas/client.schema';
import { PlatformDirectory } from './platform-directory';

export interface TenantInput {
  name?: string;
  plan?: string;
  region?: string;
  /** A field set to null goes back to the plan default. */
  quotas?: Partial<Record<keyof TenantQuotas, number | null>>;
  metadata?: Record<string, unknown>;
}

/** Tenant (client) lifecycle for platform admins. Every status change is broadcast to all nodes. */
@Injectable()
export class TenantService {
  constructor(
    private readonly clients: ClientRepository,
    private readonly applications: ApplicationRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly directory: PlatformDirectory,
    private readonly events: PlatformEvents,
  ) {}

  async create(input: TenantInput & { name: string }): Promise<ClientDoc> {
    const quotas: Partial<TenantQuotas> = {};
    for (const f of QUOTA_FIELDS) {
      const v = input.quotas?.[f];
      if (typeof v === 'number') quotas[f] = v;
    }
    return this.clients.create({ name: input.name, plan: input.plan ?? 'free', region: input.region ?? 'default', quotas, metadata: input.metadata });
  }

  list(q: { status?: string; plan?: string; cursor?: string; limit: number }): Promise<ClientDoc[]> {
    return this.clients.list(q);
  }

  /** Deleted tenants are still shown to admins (status "deleted"). */
  async get(id: string): Promise<ClientDoc> {
    const c = await this.clients.findById(id);
    if (!c) throw AppError.notFound('Tenant');
    return c;
  }

  async update(id: string, input: TenantInput): Promise<ClientDoc> {
    const set: Record<string, unknown> = {};
    const unset: string[] = [];
    if (input.name !== undefined) set.name = input.name;
    if (input.plan !== undefined) set.plan = input.plan;
    if (input.region !== undefined) set.region = input.region;
    if (input.metadata !== undefined) set.metadata = input.metadata;
    for (const f of QUOTA_FIELDS) {
      if (!input.quotas || !(f in input.quotas)) continue;
      const v = input.quotas[f];
      if (v === null) unset.push(`quotas.${f}`);
      else if (typeof v === 'number') set[`quotas.${f}`] = v;
    }
    const c = Object.keys(set).length || unset.length ? await this.clients.update(id, set, unset) : await this.clients.findById(id);
    if (!c || c.status === 'deleted') throw AppError.notFound('Tenant');
    await this.events.publish('tenant.updated', { tenantId: asTenantId(c._id.toHexString()) });
    return c;
  }

  async suspend(id: string, reason?: string): Promise<ClientDoc> {
    const c = await this.clients.transition(id, ['active', 'suspended'], 'suspended', { suspended_at: new Date(), suspension_reason: reason ?? null });
    if (!c) throw AppError.notFound('Tenant');
    await this.events.publish('tenant.suspended', { tenantId: asTenantId(c._id.toHexString()), reason: reason ?? null });
    return c;
  }

  async reactivate(id: string): Promise<ClientDoc> {
    const c = await this.clients.transition(id, ['suspended', 'active'], 'active', { suspended_at: null, suspension_reason: null });
    if (!c) throw AppError.notFound('Tenant');
    await this.events.publish('tenant.reactivated', { tenantId: asTenantId(c._id.toHexString()) });
    return c;
  }

  /**
   * Deletes a tenant from the platform: only a suspended one (suspend, export its data, then delete).
   * Its applications and keys stop working everywhere at once. Erasing the tenant's chat data is the
   * operations tooling's per-tenant hard delete, which listens for `tenant.deleted`.
   */
  async delete(id: string): Promise<ClientDoc> {
    const existing = await this.clients.findById(id);
    if (!existing || existing.status === 'deleted') throw AppError.notFound('Tenant');
    if (existing.status !== 'suspended') throw AppError.conflict('Suspend the tenant (and export its data) before deleting it');
    const c = await this.clients.transition(id, ['suspended'], 'deleted', { deleted_at: new Date() });
    if (!c) throw AppError.conflict('The tenant changed while deleting it; try again');
    const tenantId = asTenantId(c._id.toHexString());
    const keys = await this.apiKeys.revokeAll({ tenant_id: tenantId });
    await this.applications.markDeletedByTenant(tenantId);
    this.directory.invalidateTenant(tenantId);
    await this.events.publish('tenant.deleted', { tenantId });
    for (const k of keys) await this.events.publish('api_key.revoked', { tenantId, keyId: k._id.toHexString(), prefix: k.prefix });
    return c;
  }

  /** A tenant that exists and is not deleted, or 404. */
  async requireLive(id: string): Promise<ClientDoc> {
    const c = await this.clients.findById(id);
    if (!c || c.status === 'deleted') throw AppError.notFound('Tenant');
    return c;
  }
}
