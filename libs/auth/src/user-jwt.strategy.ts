import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { AppError } from '@chat/errors';
import type { UserPrincipal } from './principal';
import type { UserClaims, UserTokenService } from './user-token.service';

export const USER_JWT_STRATEGY = 'chat-user-jwt';

/**
 * A passport instance of our own with the passport-jwt strategy for end-user tokens. Not the global
 * `passport` singleton: two apps in one process (tests, multi-node simulations) would otherwise
 * overwrite each other's strategy and verify against the wrong database.
 */
export function createUserJwtPassport(tokens: UserTokenService): InstanceType<typeof Passport> {
  const passport = new Passport();
  passport.use(
    USER_JWT_STRATEGY,
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        algorithms: ['HS256'],
        secretOrKeyProvider: (_req: unknown, raw: string | Buffer, done: (err: unknown, key?: string) => void) => {
          tokens.resolveSigningKey(String(raw)).then(
            (key) => done(null, key),
            (err) => done(err),
          );
        },
      },
      (claims: UserClaims, done: (err: unknown, user?: UserPrincipal | false) => void) => {
        tokens.principalFromClaims(claims).then(
          (p) => done(null, p),
          (err) => done(err),
        );
      },
    ),
  );
  return passport;
}

/** Maps what passport-jwt reports on failure to our error shape. */
export function userAuthFailure(info: unknown): AppError {
  if (info instanceof AppError) return info;
  const name = (info as Error | undefined)?.name;
  const message = (info as Error | undefined)?.message;
  if (name === 'TokenExpiredError') return AppError.unauthorized('Token has expired');
  if (message === 'No auth token') return AppError.unauthorized('Missing end-user token (Authorization: Bearer <jwt>)');
  return AppError.unauthorized('Invalid token');
}
