import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyOrUserAuth, Principal } from './decorators';
import { ApiView } from '@chat/api-docs';

/** Lets an integration check its credentials: which tenant, application, key or user they resolve to. */
@ApiTags('auth')
@Controller('v1/auth')
export class WhoAmIController {
  @Get('whoami')
  @ApiKeyOrUserAuth()
  @ApiOperation({ summary: 'The caller as the platform sees it (API key or end-user token)' })
  @ApiView('ActorView')
  whoami(@Principal() p: Principal) {
    if (p.kind === 'api_key') return { kind: p.kind, tenant_id: p.tenantId, application_id: p.applicationId, key_id: p.keyId, scopes: p.scopes };
    if (p.kind === 'user') return { kind: p.kind, tenant_id: p.tenantId, application_id: p.applicationId, user_id: p.userId };
    return { kind: p.kind, admin_id: p.adminId, role: p.role };
  }
}
