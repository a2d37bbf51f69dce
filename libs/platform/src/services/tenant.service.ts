import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import type { BackupManifest, EraseReport } from '@chat/backup';
import { AppError } from '@chat/errors';
import { asTenantId } from '@chat/tenancy';
import { PlatformEvents } from '../events/platform-events';
import { QUOTA_FIELDS, type TenantQuotas } from '@chat/contracts';
import { ApiKeyRepository } from '../repositories/api-key.repository';
import { ApplicationRepository } from '../repositories/application.repository';
import { ClientRepository } from '../repositories/client.repository';
import { TenantDataRepository } from '../repositories/tenant-data.repository';
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

/** A finished tenant export: a .tar.gz on local disk, to be sent and then removed with `cleanup`. */
export interface TenantExportFile {
  path: string;
  filename: string;
  manifest: BackupManifest;
  cleanup(): Promise<void>;
}

/** Tenant (client) lifecycle for platform admins. Every status change is broadcast to all nodes. */
@Injectable()
export class TenantService {
  private readonly logger = new Logger('TenantService');

  constructor(
    private readonly clients: ClientRepository,
    private readonly applications: ApplicationRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly directory: PlatformDirectory,
    private readonly events: PlatformEvents,
    private readonly data: TenantDataRepository,
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
   * Exports every document and file object of the tenant (the CLI's `tenant export` format, restorable
   * with `restore`) into a temporary .tar.gz. Once it is complete, `exported_at` records when it started:
   * a delete needs an export started after the suspension, so no data can be missing from it.
   */
  async export(id: string): Promise<TenantExportFile> {
    const c = await this.requireLive(id);
    const tenantId = c._id.toHexString();
    const startedAt = new Date();
    const dir = await mkdtemp(join(tmpdir(), 'tenant-export-'));
    const filename = `tenant-${tenantId}-${startedAt.toISOString().replace(/[:.]/g, '-')}.tar.gz`;
    const path = join(dir, filename);
    const cleanup = () => rm(dir, { recursive: true, force: true });
    try {
      const manifest = await this.data.export(tenantId, path);
      await this.clients.markExported(c._id, startedAt);
      return { path, filename, manifest, cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  }

  /**
   * Deletes a suspended tenant that was exported since its suspension: status `deleted`, every key
   * revoked and applications deleted (at once, on every node), then all its data erased: documents in
   * every collection and its file objects (libs/backup, what `tenant erase` runs). Kept: the tenant
   * record as a tombstone, its audit log entries and invoices. A delete interrupted during the erase
   * is finished by calling it again (`erased_at` stays null until then).
   */
  async delete(id: string): Promise<ClientDoc> {
    const existing = await this.clients.findById(id);
    if (!existing || (existing.status === 'deleted' && existing.erased_at)) throw AppError.notFound('Tenant');
    if (existing.status === 'deleted') return this.erase(existing);
    if (existing.status !== 'suspended') throw AppError.conflict('Suspend the tenant, export it, then delete it', { reason: 'not_suspended' });
    const exported = existing.exported_at && existing.suspended_at && existing.exported_at >= existing.suspended_at;
    if (!exported) {
      throw AppError.conflict('Export the tenant (POST /admin/tenants/{id}/export) after suspending it, then delete it', {
        reason: 'export_required',
        suspended_at: existing.suspended_at ?? null,
        exported_at: existing.exported_at ?? null,
      });
    }
    const c = await this.clients.transition(id, ['suspended'], 'deleted', { deleted_at: new Date() });
    if (!c) throw AppError.conflict('The tenant changed while deleting it; try again');
    const tenantId = asTenantId(c._id.toHexString());
    const keys = await this.apiKeys.revokeAll({ tenant_id: tenantId });
    await this.applications.markDeletedByTenant(tenantId);
    this.directory.invalidateTenant(tenantId);
    await this.events.publish('tenant.deleted', { tenantId });
    for (const k of keys) await this.events.publish('api_key.revoked', { tenantId, keyId: k._id.toHexString(), prefix: k.prefix });
    return this.erase(c);
  }

  private async erase(c: ClientDoc): Promise<ClientDoc> {
    const tenantId = c._id.toHexString();
    const report: EraseReport = await this.data.erase(tenantId);
    const documents = report.collections.reduce((n, x) => n + x.deleted, 0);
    this.logger.log(`tenant ${tenantId} erased: ${documents} documents, ${report.objects} objects`);
    return (await this.clients.markErased(c._id)) ?? c;
  }

  /** A tenant that exists and is not deleted, or 404. */
  async requireLive(id: string): Promise<ClientDoc> {
    const c = await this.clients.findById(id);
    if (!c || c.status === 'deleted') throw AppError.notFound('Tenant');
    return c;
  }
}
