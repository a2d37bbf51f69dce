import { Injectable } from '@nestjs/common';
import { AppConfig } from '@chat/config';
import { AuditService } from '@chat/audit';
import { AppError, ErrorCode } from '@chat/errors';
import type { TenantQuotas } from '@chat/contracts';
import { effectiveQuotas, PlatformDirectory } from '@chat/platform';
import { RedisService } from '@chat/redis';
import { RequestContextData, TenantContext } from '@chat/tenancy';
import { RateLimiter, WindowResult, WindowStep } from './rate-limiter';

export type QuotaKind = keyof TenantQuotas;

/** A message quota charge made ahead of the send (see QuotaService.prepayMessage). */
export interface PrepaidMessage {
  readonly tenantId: string;
  readonly step: WindowStep;
  readonly result: WindowResult;
  /** Set once the send's consumeMessages took it. */
  used: boolean;
}

/**
 * Per-tenant quotas at run time (limits from the tenant document via PlatformDirectory, cached and
 * invalidated by PlatformEvents) and the per-IP admin login limit. Every refusal is an AppError 429
 * (`rate_limited` for rates, `quota_exceeded` for totals) with retryAfterSeconds, which the HTTP filter
 * turns into a Retry-After header and sockets into the error ack.
 */
@Injectable()
export class QuotaService {
  /** tenant:kind -> last audit time, so a tenant hammering a limit writes one audit entry a minute, not one per request. */
  private readonly audited = new Map<string, number>();
  /** Message charges made ahead (by the socket gateway's one round trip), by the request context they were made for. */
  private readonly prepaid = new WeakMap<RequestContextData, PrepaidMessage>();

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly limiter: RateLimiter,
    private readonly directory: PlatformDirectory,
    private readonly audit: AuditService,
  ) {}

  async quotasOf(tenantId: string): Promise<TenantQuotas> {
    return (await this.directory.tenant(tenantId))?.quotas ?? effectiveQuotas('free');
  }

  /** One REST request (API key or end-user token): api_requests_per_minute. */
  async consumeApiRequest(tenantId: string): Promise<void> {
    const limit = (await this.quotasOf(tenantId)).api_requests_per_minute;
    const r = await this.limiter.consume(this.redis.key('q', tenantId, 'api'), 1, limit, 60_000);
    if (!r.allowed) throw await this.refuse(tenantId, 'api_requests_per_minute', ErrorCode.RateLimited, r.resetMs / 1000, limit, 'API request rate limit exceeded');
  }

  /** n messages about to be sent: messages_per_second across the tenant. */
  async consumeMessages(tenantId: string, n = 1): Promise<void> {
    const pre = this.takePrepaid(tenantId, n);
    const limit = pre ? pre.step.limit : (await this.quotasOf(tenantId)).messages_per_second;
    const r = pre ? pre.result : await this.limiter.consume(this.redis.key('q', tenantId, 'msg'), n, limit, 1_000);
    if (!r.allowed) throw await this.refuse(tenantId, 'messages_per_second', ErrorCode.RateLimited, r.resetMs / 1000, limit, 'Message rate limit exceeded');
  }

  /** The window consumeMessages(tenantId, n) charges, as a step for RateLimiter.consumeInOrder. */
  async messageStep(tenantId: string, n = 1): Promise<WindowStep> {
    const limit = (await this.quotasOf(tenantId)).messages_per_second;
    return { key: this.redis.key('q', tenantId, 'msg'), kind: 'window', n, limit, windowMs: 1_000 };
  }

  /**
   * Hands a charge of `step` made ahead (in one round trip with other limits) to the next
   * consumeMessages(tenantId, n) of the current request context, which answers from it (refusing at
   * its own place, audited as ever) instead of charging again. Call inside the context's
   * TenantContext.run; call settlePrepaid once the request is done.
   */
  prepayMessage(tenantId: string, step: WindowStep, result: WindowResult): PrepaidMessage | null {
    const ctx = TenantContext.current();
    if (!ctx) return null;
    const pre: PrepaidMessage = { tenantId, step, result, used: false };
    this.prepaid.set(ctx, pre);
    return pre;
  }

  /** A prepaid message the request never sent (refused before its quota check) is given back. */
  async settlePrepaid(pre: PrepaidMessage | null): Promise<void> {
    if (!pre || pre.used || !pre.result.allowed) return;
    pre.used = true;
    await this.limiter.refund([{ key: pre.step.key, n: pre.step.n }]);
  }

  private takePrepaid(tenantId: string, n: number): PrepaidMessage | null {
    const ctx = TenantContext.current();
    const pre = ctx ? this.prepaid.get(ctx) : undefined;
    if (!pre || pre.used || pre.tenantId !== tenantId || pre.step.n !== n) return null;
    pre.used = true;
    return pre;
  }

  /**
   * Counts a socket against concurrent_connections (idempotent per connectionId). Call
   * releaseConnection on disconnect and refreshConnections every few minutes for live sockets:
   * entries not refreshed for QUOTA_CONNECTION_STALE_SECONDS stop counting (a node that died).
   */
  async acquireConnection(tenantId: string, connectionId: string): Promise<void> {
    const limit = (await this.quotasOf(tenantId)).concurrent_connections;
    const r = await this.limiter.acquireMember(this.connKey(tenantId), connectionId, limit, this.config.QUOTA_CONNECTION_STALE_SECONDS * 1000);
    if (!r.allowed) throw await this.refuse(tenantId, 'concurrent_connections', ErrorCode.QuotaExceeded, 5, limit, 'Too many concurrent connections for this tenant');
  }

  async releaseConnection(tenantId: string, connectionId: string): Promise<void> {
    await this.limiter.releaseMember(this.connKey(tenantId), connectionId);
  }

  async refreshConnections(tenantId: string, connectionIds: string[]): Promise<void> {
    await this.limiter.refreshMembers(this.connKey(tenantId), connectionIds, this.config.QUOTA_CONNECTION_STALE_SECONDS * 1000);
  }

  async connectionCount(tenantId: string): Promise<number> {
    return this.limiter.countMembers(this.connKey(tenantId), this.config.QUOTA_CONNECTION_STALE_SECONDS * 1000);
  }

  /** Before creating a user: `currentCount` is the tenant's user count now. */
  async assertUsersBelowQuota(tenantId: string, currentCount: number): Promise<void> {
    const limit = (await this.quotasOf(tenantId)).users;
    if (currentCount >= limit) throw await this.refuse(tenantId, 'users', ErrorCode.QuotaExceeded, 60, limit, 'User quota exceeded for this tenant');
  }

  /** Before storing `addBytes` more when `usedBytes` are stored. */
  async assertStorage(tenantId: string, usedBytes: number, addBytes: number): Promise<void> {
    const limit = (await this.quotasOf(tenantId)).storage_bytes;
    if (usedBytes + addBytes > limit) throw await this.refuse(tenantId, 'storage_bytes', ErrorCode.QuotaExceeded, 60, limit, 'Storage quota exceeded for this tenant');
  }

  /**
   * Admin login throttle: refuses while the IP (or the email) has ADMIN_LOGIN_MAX_FAILURES failures in
   * the window. Only failures count, so an admin who types the password right is never locked out by
   * their own successful logins.
   */
  async assertLoginAllowed(ip: string, email: string): Promise<void> {
    const max = this.config.ADMIN_LOGIN_MAX_FAILURES;
    const [byIp, byEmail] = await Promise.all([this.limiter.peek(this.loginKey('ip', ip)), this.limiter.peek(this.loginKey('email', email))]);
    if (byIp >= max || byEmail >= max) {
      throw AppError.rateLimited(this.config.ADMIN_LOGIN_WINDOW_SECONDS, 'Too many failed login attempts; try again later');
    }
  }

  async recordLoginFailure(ip: string, email: string): Promise<void> {
    const win = this.config.ADMIN_LOGIN_WINDOW_SECONDS * 1000;
    await Promise.all([
      this.limiter.consume(this.loginKey('ip', ip), 1, Number.MAX_SAFE_INTEGER, win),
      this.limiter.consume(this.loginKey('email', email), 1, Number.MAX_SAFE_INTEGER, win),
    ]);
  }

  async clearLoginFailures(email: string): Promise<void> {
    await this.limiter.reset(this.loginKey('email', email));
  }

  private connKey(tenantId: string): string {
    return this.redis.key('q', tenantId, 'conn');
  }

  private loginKey(kind: 'ip' | 'email', value: string): string {
    return this.redis.key('rl', 'admin-login', kind, value.toLowerCase());
  }

  /** The 429 to throw; audited (awaited, so the entry is queryable once the caller sees the refusal). */
  private async refuse(tenantId: string, kind: QuotaKind, code: ErrorCode, retryAfter: number, limit: number, message: string): Promise<AppError> {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfter));
    const key = `${tenantId}:${kind}`;
    const now = Date.now();
    if ((this.audited.get(key) ?? 0) < now - 60_000) {
      if (this.audited.size > 10_000) this.audited.clear();
      this.audited.set(key, now);
      await this.audit.record({ action: 'quota.exceeded', tenantId, resource: { type: 'quota', id: kind }, success: false, severity: 'warning', details: { quota: kind, limit } });
    }
    return new AppError(code, message, { quota: kind, limit, retry_after_seconds: retryAfterSeconds }, retryAfterSeconds);
  }
}
