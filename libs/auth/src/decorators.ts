import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { AdminAuthGuard, ApiKeyGuard, ApiKeyOrUserGuard, REQUIRED_ROLES, REQUIRED_SCOPES, UserAuthGuard } from './guards';
import { AdminRole, AuthPrincipal, PRINCIPAL_KEY } from './principal';

/** SaaS client server-to-server: `X-Api-Key` holding every listed scope. */
export function ApiKeyAuth(...scopes: string[]) {
  return applyDecorators(SetMetadata(REQUIRED_SCOPES, scopes), UseGuards(ApiKeyGuard), ApiSecurity('api-key'));
}

/** End user: `Authorization: Bearer <jwt>` signed with the application's secret. */
export function UserAuth() {
  return applyDecorators(UseGuards(UserAuthGuard), ApiBearerAuth('user-token'));
}

/** Either an API key with the listed scopes or an end-user token (check `principal.kind` in the handler). */
export function ApiKeyOrUserAuth(...scopes: string[]) {
  return applyDecorators(SetMetadata(REQUIRED_SCOPES, scopes), UseGuards(ApiKeyOrUserGuard), ApiSecurity('api-key'), ApiBearerAuth('user-token'));
}

/** Platform admin with one of the roles (none listed: any admin). */
export function AdminAuth(...roles: AdminRole[]) {
  return applyDecorators(SetMetadata(REQUIRED_ROLES, roles), UseGuards(AdminAuthGuard), ApiBearerAuth('admin-token'));
}

/** The authenticated principal: `{ kind: 'api_key' | 'user' | 'admin', ... }` (see principal.ts). */
export type Principal = AuthPrincipal;

/** Parameter decorator: the principal of this request (set by one of the guards above). */
export const Principal = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthPrincipal | undefined => {
  return ctx.switchToHttp().getRequest<Record<string, AuthPrincipal | undefined>>()[PRINCIPAL_KEY];
});
