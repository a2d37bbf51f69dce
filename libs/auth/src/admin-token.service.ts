import { join, resolve } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '@chat/config';
import { AppError } from '@chat/errors';
import { loadOrCreateLocalSecret } from '@chat/platform';
import type { AdminRole } from './principal';

export interface AdminClaims {
  sub: string;
  role: AdminRole;
  typ: 'admin';
  exp: number;
}

/**
 * Platform-admin JWTs (HS256, ADMIN_JWT_SECRET). In development without that variable, a random
 * secret persisted in DATA_DIR/admin-jwt-secret (0600) so tokens survive restarts; production refuses
 * to start without it (config validation).
 */
@Injectable()
export class AdminTokenService {
  private readonly logger = new Logger('AdminTokens');
  private readonly jwt = new JwtService({});
  private secretValue?: string;

  constructor(private readonly config: AppConfig) {}

  private get secret(): string {
    if (!this.secretValue) {
      if (this.config.ADMIN_JWT_SECRET) this.secretValue = this.config.ADMIN_JWT_SECRET;
      else {
        const file = join(resolve(this.config.DATA_DIR), 'admin-jwt-secret');
        this.secretValue = loadOrCreateLocalSecret(file, 48).toString('base64');
        this.logger.warn(`ADMIN_JWT_SECRET not set: using the development secret in ${file}`);
      }
    }
    return this.secretValue;
  }

  issue(admin: { id: string; role: AdminRole }): { token: string; expires_at: string } {
    const exp = Math.floor(Date.now() / 1000) + this.config.ADMIN_TOKEN_TTL_SECONDS;
    const token = this.jwt.sign({ sub: admin.id, role: admin.role, typ: 'admin', exp }, { secret: this.secret, algorithm: 'HS256' });
    return { token, expires_at: new Date(exp * 1000).toISOString() };
  }

  verify(token: string): AdminClaims {
    let claims: Partial<AdminClaims>;
    try {
      claims = this.jwt.verify<AdminClaims>(token, { secret: this.secret, algorithms: ['HS256'] });
    } catch (err) {
      throw AppError.unauthorized((err as Error).name === 'TokenExpiredError' ? 'Admin token has expired' : 'Invalid admin token');
    }
    if (claims.typ !== 'admin' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw AppError.unauthorized('Invalid admin token');
    return claims as AdminClaims;
  }
}
