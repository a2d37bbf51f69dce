import { Injectable, Optional } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { UsersService } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode } from '@chat/errors';
import { UserBansService } from '@chat/moderation';
import { ApplicationInfo, PlatformDirectory, tenantSuspendedError } from '@chat/platform';
import { isTenantId, TenantContext, TenantId } from '@chat/tenancy';
import type { UserPrincipal } from './principal';

/** Claims of an end-user token: sub = external_id, tid = tenant id, aid = application id. */
export interface UserClaims {
  sub: string;
  tid: string;
  aid: string;
  exp: number;
  iat?: number;
}

const OBJECT_ID_RE = /^[0-9a-f]{24}$/i;

export interface IssueUserToken {
  tenantId: string;
  applicationId: string;
  /** The end user's external_id. */
  userId: string;
  ttlSeconds?: number;
}

/**
 * End-user JWTs: HS256 signed with the application's secret (a client's backend may also sign them
 * itself with that secret). Verification picks the application from `aid`, checks it belongs to
 * `tid`, accepts the current secret and, during a rotation's grace period, the previous one, refuses
 * a token living longer than END_USER_TOKEN_MAX_LIFETIME_SECONDS, and then checks access
 * (`requireAccess`): a suspended tenant gets 403 `tenant_suspended`, a deactivated user 403
 * `forbidden`, a deleted or never-existing user 401. Shared by the HTTP guards (passport-jwt), the
 * socket handshake (`authenticateUserToken`) and every socket event (`requireAccess`), so all of them
 * accept exactly the same tokens and users.
 */
@Injectable()
export class UserTokenService {
  private readonly jwt = new JwtService({});

  constructor(
    private readonly config: AppConfig,
    private readonly directory: PlatformDirectory,
    // Absent in apps without the chat modules (admin alone): they then accept no end-user token at all.
    @Optional() private readonly users?: UsersService,
    // Required in the apps (AuthModule imports it); optional only for hand-built instances in unit tests.
    private readonly bans?: UserBansService,
  ) {}

  async issue(input: IssueUserToken): Promise<{ token: string; expires_at: string }> {
    const app = await this.directory.application(input.applicationId);
    if (!app || app.tenantId !== input.tenantId) throw AppError.notFound('Application');
    if (typeof input.userId !== 'string' || !input.userId || input.userId.length > 256) {
      throw AppError.validation([{ field: 'userId', problems: ['must be a non-empty string of at most 256 characters'] }]);
    }
    const ttl = input.ttlSeconds ?? this.config.END_USER_TOKEN_TTL_SECONDS;
    const max = this.config.END_USER_TOKEN_MAX_LIFETIME_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > max) {
      throw AppError.validation([{ field: 'ttl_seconds', problems: [`must be an integer between 1 and ${max} (END_USER_TOKEN_MAX_LIFETIME_SECONDS)`] }]);
    }
    const now = Math.floor(Date.now() / 1000);
    const exp = now + ttl;
    const { secret, version } = app.secrets[0];
    const token = this.jwt.sign(
      { sub: input.userId, tid: app.tenantId, aid: app.id, iat: now, exp },
      { secret, algorithm: 'HS256', header: { alg: 'HS256', typ: 'JWT', kid: `v${version}` } },
    );
    return { token, expires_at: new Date(exp * 1000).toISOString() };
  }

  /**
   * Verifies an end-user token wherever it comes from (HTTP, socket handshake). 401 `unauthorized`
   * for anything malformed, expired, wrongly signed, of an unknown application or of another tenant;
   * 403 `tenant_suspended` for a suspended tenant.
   */
  async authenticateUserToken(token: unknown): Promise<UserPrincipal> {
    if (typeof token !== 'string' || !token) throw AppError.unauthorized('Missing end-user token');
    const secret = await this.resolveSigningKey(token);
    let claims: UserClaims;
    try {
      claims = this.jwt.verify<UserClaims>(token, { secret, algorithms: ['HS256'] });
    } catch (err) {
      throw AppError.unauthorized((err as Error).name === 'TokenExpiredError' ? 'Token has expired' : 'Invalid token');
    }
    return this.principalFromClaims(claims);
  }

  /**
   * The secret a token must verify against (passport-jwt's secretOrKeyProvider): read the unverified
   * claims only to find the application, then let the signature check decide.
   */
  async resolveSigningKey(token: string): Promise<string> {
    const decoded = this.jwt.decode<{ header?: { alg?: string; kid?: string }; payload?: Partial<UserClaims> } | null>(token, { complete: true });
    const header = decoded?.header;
    const c = decoded?.payload;
    if (!header || !c || typeof c !== 'object' || header.alg !== 'HS256') throw AppError.unauthorized('Malformed token');
    if (typeof c.sub !== 'string' || !c.sub || !isTenantId(c.tid) || typeof c.aid !== 'string' || !OBJECT_ID_RE.test(c.aid) || typeof c.exp !== 'number') {
      throw AppError.unauthorized('Token lacks the sub, tid, aid or exp claim');
    }
    const app = await this.directory.application(c.aid);
    // Unknown application and another tenant's application look the same.
    if (!app || app.tenantId !== c.tid) throw AppError.unauthorized('Invalid token');
    return this.pickSecret(app, token, header.kid);
  }

  /** After the signature is verified: a lifetime within the maximum, then access (`requireAccess`). */
  async principalFromClaims(claims: Partial<UserClaims>): Promise<UserPrincipal> {
    if (typeof claims.sub !== 'string' || !claims.sub || !isTenantId(claims.tid) || typeof claims.aid !== 'string' || typeof claims.exp !== 'number') {
      throw AppError.unauthorized('Token lacks the sub, tid, aid or exp claim');
    }
    this.checkLifetime(claims.exp, claims.iat);
    await this.requireAccess(claims.tid, claims.sub);
    return { kind: 'user', tenantId: claims.tid, applicationId: claims.aid, userId: claims.sub };
  }

  /**
   * The one access check for an end user, on every HTTP request, socket handshake and socket event:
   * the tenant is live, the user exists and is active, and no tenant-wide ban is in force (403
   * `user_banned`, libs/moderation). The reads are cached (tenant in process, user and ban in
   * CacheService, invalidated by every status change and ban), so this costs cache hits per call.
   * Deny by default: no users directory, no access.
   */
  async requireAccess(tenantId: TenantId, userId: string): Promise<void> {
    const users = this.users;
    const bans = this.bans;
    // Both cached reads at once: the user, and a tenant-wide ban (libs/moderation). Started before the
    // tenant check (in process) is awaited, so they leave in the MGET of reads started beside this call
    // (a socket send's own reads: MessageSendService.prepare); the tenant is still refused first.
    const reads = TenantContext.run({ tenantId }, () => Promise.all([users ? users.find(userId) : null, bans ? bans.activeBan(userId) : null]));
    reads.catch(() => undefined);
    const tenant = await this.directory.tenant(tenantId);
    if (!tenant || tenant.status === 'deleted') throw AppError.unauthorized('Invalid token');
    if (tenant.status === 'suspended') throw tenantSuspendedError(tenant.id);
    const [user, ban] = await reads;
    if (!user) throw AppError.unauthorized('The user of this token does not exist');
    if (user.deactivated) throw new AppError(ErrorCode.Forbidden, 'User is deactivated');
    if (ban) throw UserBansService.bannedError(ban);
  }

  /**
   * A token may live at most END_USER_TOKEN_MAX_LIFETIME_SECONDS, measured from iat and from now (a
   * client's backend may sign without iat, or with an iat in the future): self-signed tokens with a
   * far-away exp would otherwise never end.
   */
  private checkLifetime(exp: number, iat: unknown): void {
    const max = this.config.END_USER_TOKEN_MAX_LIFETIME_SECONDS;
    const now = Math.floor(Date.now() / 1000);
    const lifetime = Math.max(exp - now, typeof iat === 'number' ? exp - iat : 0);
    if (!(lifetime <= max)) throw AppError.unauthorized(`Token lifetime exceeds ${max} seconds (END_USER_TOKEN_MAX_LIFETIME_SECONDS)`);
  }

  private pickSecret(app: ApplicationInfo, token: string, kid?: string): string {
    const live = app.secrets.filter((s) => !s.expiresAt || s.expiresAt > Date.now());
    if (kid) {
      const byKid = live.find((s) => `v${s.version}` === kid);
      if (byKid) return byKid.secret;
    }
    // Tokens signed by a client's own backend carry no kid: the first secret whose signature matches.
    if (live.length > 1) {
      for (const s of live) {
        try {
          this.jwt.verify(token, { secret: s.secret, algorithms: ['HS256'], ignoreExpiration: true });
          return s.secret;
        } catch {
          /* try the next secret */
        }
      }
    }
    return live[0]?.secret ?? app.secrets[0].secret;
  }
}
