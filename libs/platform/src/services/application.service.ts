import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { asTenantId } from '@chat/tenancy';
import { PlatformEvents } from '../events/platform-events';
import { ApiKeyRepository } from '../repositories/api-key.repository';
import { ApplicationRepository } from '../repositories/application.repository';
import type { ApplicationDoc } from '../schemas/application.schema';
import { SecretBox } from '../secrets/secret-box';
import { PlatformDirectory } from './platform-directory';
import { TenantService } from './tenant.service';

/** 32 random bytes, base64url: the HS256 key a client's backend signs its users' tokens with. */
export function newApplicationSecret(): string {
  return randomBytes(32).toString('base64url');
}

@Injectable()
export class ApplicationService {
  constructor(
    private readonly config: AppConfig,
    private readonly applications: ApplicationRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly tenants: TenantService,
    private readonly box: SecretBox,
    private readonly directory: PlatformDirectory,
    private readonly events: PlatformEvents,
  ) {}

  /** Returns the secret in clear once; afterwards only a rotation shows a secret again. */
  async create(tenantId: string, input: { name: string; settings?: Record<string, unknown> }): Promise<{ application: ApplicationDoc; secret: string }> {
    await this.tenants.requireLive(tenantId);
    const secret = newApplicationSecret();
    const application = await this.applications.create({ tenant_id: tenantId, name: input.name, secret_enc: this.box.seal(secret), settings: input.settings });
    return { application, secret };
  }

  async list(tenantId: string, cursor: string | undefined, limit: number): Promise<ApplicationDoc[]> {
    await this.tenants.requireLive(tenantId);
    return this.applications.listByTenant(tenantId, cursor, limit);
  }

  async get(id: string): Promise<ApplicationDoc> {
    const a = await this.applications.findById(id);
    if (!a) throw AppError.notFound('Application');
    return a;
  }

  async update(id: string, input: { name?: string; settings?: Record<string, unknown> }): Promise<ApplicationDoc> {
    const set: Record<string, unknown> = {};
    if (input.name !== undefined) set.name = input.name;
    if (input.settings !== undefined) set.settings = input.settings;
    const a = Object.keys(set).length ? await this.applications.update(id, set) : await this.applications.findById(id);
    if (!a) throw AppError.notFound('Application');
    return a;
  }

  /**
   * New signing secret. Tokens signed with the old one stay valid for `graceSeconds` (0: at once
   * invalid), so clients can roll their backends without logging users out.
   */
  async rotateSecret(id: string, graceSeconds = this.config.KEY_ROTATION_GRACE_SECONDS): Promise<{ application: ApplicationDoc; secret: string }> {
    const current = await this.get(id);
    const secret = newApplicationSecret();
    const application = await this.applications.rotateSecret(id, current.secret_version, {
      secret_enc: this.box.seal(secret),
      previous_secret_enc: graceSeconds > 0 ? current.secret_enc : null,
      previous_secret_expires_at: graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000) : null,
    });
    if (!application) throw AppError.conflict('The application secret was rotated concurrently; try again');
    await this.changed(application);
    return { application, secret };
  }

  /** Deletes the application; its keys are revoked and its users' tokens stop working at once. */
  async delete(id: string): Promise<ApplicationDoc> {
    const a = await this.applications.markDeleted(id);
    if (!a) throw AppError.notFound('Application');
    const tenantId = asTenantId(a.tenant_id);
    const keys = await this.apiKeys.revokeAll({ application_id: a._id.toHexString() });
    await this.changed(a);
    for (const k of keys) {
      this.directory.dropApiKey(k.prefix);
      await this.events.publish('api_key.revoked', { tenantId, keyId: k._id.toHexString(), prefix: k.prefix });
    }
    return a;
  }

  private async changed(a: ApplicationDoc): Promise<void> {
    this.directory.dropApplication(a._id.toHexString());
    await this.events.publish('application.updated', { tenantId: asTenantId(a.tenant_id), applicationId: a._id.toHexString() });
  }
}
