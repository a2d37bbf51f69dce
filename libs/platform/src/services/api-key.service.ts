import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { Clock, SystemClock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode } from '@chat/errors';
import { asTenantId, TenantId } from '@chat/tenancy';
import { PlatformEvents } from '../events/platform-events';
import { ApiKeyRepository } from '../repositories/api-key.repository';
import type { ApiKeyDoc } from '../schemas/api-key.schema';
import { ApplicationService } from './application.service';
import { PlatformDirectory } from './platform-directory';
import { isDuplicateKeyError } from '@chat/database';

/** `ck_<12 hex prefix>_<43 base64url secret>`; the prefix is public and finds the record. */
const KEY_RE = /^ck_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** `users:write`, `messages:read`, `files:*` or `*` (every scope). */
export const SCOPE_RE = /^(\*|[a-z][a-z_]*:(read|write|\*))$/;
const LAST_USED_INTERVAL_MS = 60_000;

/** 403 `tenant_suspended`; carries the tenant id (not in the body) for the audit entry. */
export function tenantSuspendedError(tenantId: TenantId): AppError & { tenantId: TenantId } {
  return Object.assign(new AppError(ErrorCode.TenantSuspended, 'This tenant is suspended'), { tenantId });
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function parseApiKey(key: string): { prefix: string } | null {
  const m = KEY_RE.exec(key);
  return m ? { prefix: m[1] } : null;
}

/** True when `granted` covers `required` (exact, `<resource>:*` or `*`). */
export function scopeAllows(granted: readonly string[], required: string): boolean {
  if (granted.includes('*') || granted.includes(required)) return true;
  const resource = required.split(':')[0];
  return granted.includes(`${resource}:*`);
}

export interface AuthenticatedApiKey {
  tenantId: TenantId;
  applicationId: string;
  keyId: string;
  scopes: string[];
}

@Injectable()
export class ApiKeyService {
  private readonly logger = new Logger('ApiKeys');
  /** keyId -> last time this node wrote last_used_at (bounded; cleared when large). */
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeyRepository,
    private readonly applications: ApplicationService,
    private readonly directory: PlatformDirectory,
    private readonly events: PlatformEvents,
    private readonly clock: Clock = new SystemClock(),
  ) {}

  /** Creates a key; the clear text is in the result once and never stored. */
  async create(
    applicationId: string,
    input: { name?: string; scopes: string[]; expires_at?: Date | null },
    createdBy?: string,
  ): Promise<{ key: ApiKeyDoc; secret: string }> {
    const app = await this.applications.get(applicationId);
    this.checkScopes(input.scopes);
    if (input.expires_at && input.expires_at.getTime() <= this.clock.now()) throw AppError.validation([{ field: 'expires_at', problems: ['expires_at must be in the future'] }]);
    for (let attempt = 0; ; attempt++) {
      const prefix = randomBytes(6).toString('hex');
      const secret = `ck_${prefix}_${randomBytes(32).toString('base64url')}`;
      try {
        const key = await this.keys.create({
          tenant_id: app.tenant_id,
          application_id: app._id.toHexString(),
          name: input.name ?? 'default',
          prefix,
          hash: hashApiKey(secret),
          scopes: [...new Set(input.scopes)],
          expires_at: input.expires_at ?? null,
          revoked_at: null,
          last_used_at: null,
          rotated_at: null,
          replaced_by: null,
          created_by: createdBy ?? null,
        });
        return { key, secret };
      } catch (err) {
        // 48 random bits: a prefix collision is rare; the unique index catches it and we draw again.
        if (isDuplicateKeyError(err) && attempt < 3) continue;
        throw err;
      }
    }
  }

  list(applicationId: string, cursor: string | undefined, limit: number): Promise<ApiKeyDoc[]> {
    return this.applications.get(applicationId).then(() => this.keys.listByApplication(applicationId, cursor, limit));
  }

  async get(id: string): Promise<ApiKeyDoc> {
    const k = await this.keys.findById(id);
    if (!k) throw AppError.notFound('API key');
    return k;
  }

  /**
   * A new key with the same application, name and scopes; the old one keeps working for
   * `graceSeconds` (0: stops at once), then expires.
   */
  async rotate(id: string, graceSeconds = this.config.KEY_ROTATION_GRACE_SECONDS, by?: string): Promise<{ key: ApiKeyDoc; secret: string; previous: ApiKeyDoc }> {
    const old = await this.get(id);
    if (old.revoked_at) throw AppError.conflict('A revoked key cannot be rotated');
    if (old.replaced_by) throw AppError.conflict('This key was already rotated', { replaced_by: old.replaced_by });
    const created = await this.create(old.application_id, { name: old.name, scopes: old.scopes, expires_at: old.expires_at && old.expires_at.getTime() > this.clock.now() ? old.expires_at : null }, by);
    const previous = await this.keys.markRotated(old._id, created.key._id.toHexString(), new Date(this.clock.now() + graceSeconds * 1000));
    if (!previous) {
      // Lost a race with another rotation or a revocation: do not leave a second successor behind.
      await this.keys.revoke(created.key._id);
      throw AppError.conflict('The key changed while rotating it; try again');
    }
    this.directory.dropApiKey(previous.prefix);
    await this.events.publish('api_key.updated', { tenantId: asTenantId(previous.tenant_id), keyId: previous._id.toHexString(), prefix: previous.prefix });
    return { ...created, previous };
  }

  /** Effective at once on every node (cache entries dropped through PlatformEvents). Idempotent. */
  async revoke(id: string): Promise<ApiKeyDoc> {
    const revoked = (await this.keys.revoke(id)) ?? (await this.get(id));
    this.directory.dropApiKey(revoked.prefix);
    await this.events.publish('api_key.revoked', { tenantId: asTenantId(revoked.tenant_id), keyId: revoked._id.toHexString(), prefix: revoked.prefix });
    return revoked;
  }

  /**
   * Resolves an `X-Api-Key` value: 401 when unknown, wrong, revoked, expired or of a deleted
   * application or tenant; 403 `tenant_suspended` for a suspended tenant.
   */
  async authenticate(raw: string | undefined): Promise<AuthenticatedApiKey> {
    const parsed = typeof raw === 'string' ? parseApiKey(raw.trim()) : null;
    if (!parsed) throw AppError.unauthorized('Missing or malformed API key');
    const doc = await this.directory.apiKeyByPrefix(parsed.prefix);
    const given = Buffer.from(hashApiKey(raw!.trim()), 'hex');
    if (!doc || !timingSafeEqual(given, Buffer.from(doc.hash, 'hex'))) throw AppError.unauthorized('Invalid API key');
    if (doc.revoked_at) throw AppError.unauthorized('API key has been revoked');
    if (doc.expires_at && new Date(doc.expires_at).getTime() <= this.clock.now()) throw AppError.unauthorized('API key has expired');
    const tenant = await this.directory.tenant(doc.tenant_id);
    if (!tenant || tenant.status === 'deleted') throw AppError.unauthorized('Invalid API key');
    if (tenant.status === 'suspended') throw tenantSuspendedError(tenant.id);
    const app = await this.directory.application(doc.application_id);
    if (!app || app.tenantId !== tenant.id) throw AppError.unauthorized('Invalid API key');
    const keyId = doc._id.toHexString();
    this.touch(keyId);
    return { tenantId: tenant.id, applicationId: doc.application_id, keyId, scopes: doc.scopes };
  }

  /** last_used_at without a write per request: at most one per key per minute per node, and the DB filter dedupes nodes. */
  private touch(keyId: string): void {
    const now = this.clock.now();
    const last = this.lastTouched.get(keyId);
    if (last !== undefined && now - last < LAST_USED_INTERVAL_MS) return;
    if (this.lastTouched.size > 100_000) this.lastTouched.clear();
    this.lastTouched.set(keyId, now);
    this.keys.touchLastUsed(keyId, new Date(now), LAST_USED_INTERVAL_MS).catch((err: Error) => this.logger.warn(`last_used_at update failed: ${err.message}`));
  }

  private checkScopes(scopes: string[]): void {
    const bad = scopes.filter((s) => typeof s !== 'string' || !SCOPE_RE.test(s));
    if (!scopes.length || bad.length) {
      throw AppError.validation([{ field: 'scopes', problems: [scopes.length ? `invalid scopes: ${bad.join(', ')}` : 'at least one scope is required'] }]);
    }
  }
}
