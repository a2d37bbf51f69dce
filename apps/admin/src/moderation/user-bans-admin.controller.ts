import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiNotFoundResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiView } from '@chat/api-docs';
import { AdminAuth, AdminPrincipal, Principal } from '@chat/auth';
import { ModerationPageQueryDto, RestrictionDto, UserBansService, UserBanView } from '@chat/moderation';
import { TenantService } from '@chat/platform';
import { asTenantId, TenantContext } from '@chat/tenancy';

/**
 * Tenant-wide user bans for platform admins (owners write, any admin reads), e.g. acting on a report.
 * The action runs in the tenant's context as the admin; ModerationTrail writes the audit entry.
 */
@ApiTags('admin: moderation')
@Controller('admin/tenants/:id')
@ApiParam({ name: 'id', description: 'tenant id' })
@ApiNotFoundResponse({ description: 'no such tenant, user or ban' })
export class UserBansAdminController {
  constructor(
    private readonly bans: UserBansService,
    private readonly tenants: TenantService,
  ) {}

  private async inTenant<T>(tenantId: string, p: AdminPrincipal, fn: () => Promise<T>): Promise<T> {
    const t = await this.tenants.requireLive(tenantId);
    return TenantContext.run({ tenantId: asTenantId(t._id.toHexString()), actor: { type: 'admin', id: p.adminId } }, fn);
  }

  @Get('bans')
  @AdminAuth()
  @ApiOperation({ summary: "The tenant's banned users, by cursor" })
  @ApiView.page('UserBanView')
  list(@Principal() p: AdminPrincipal, @Param('id') id: string, @Query() q: ModerationPageQueryDto): Promise<{ data: UserBanView[]; next_cursor: string | null }> {
    return this.inTenant(id, p, () => this.bans.list(q));
  }

  @Get('users/:external_id/ban')
  @AdminAuth()
  @ApiParam({ name: 'external_id' })
  @ApiOperation({ summary: "An end user's ban" })
  @ApiView('UserBanView')
  get(@Principal() p: AdminPrincipal, @Param('id') id: string, @Param('external_id') userId: string): Promise<UserBanView> {
    return this.inTenant(id, p, () => this.bans.get(userId));
  }

  @Put('users/:external_id/ban')
  @AdminAuth('owner')
  @ApiParam({ name: 'external_id' })
  @ApiOperation({ summary: 'Ban an end user tenant-wide (sockets cut, every request refused with 403 user_banned) until unbanned or expires_at' })
  @ApiView('UserBanView')
  ban(@Principal() p: AdminPrincipal, @Param('id') id: string, @Param('external_id') userId: string, @Body() dto: RestrictionDto): Promise<UserBanView> {
    return this.inTenant(id, p, () => this.bans.ban({ kind: 'admin', adminId: p.adminId }, userId, dto));
  }

  @Delete('users/:external_id/ban')
  @HttpCode(204)
  @AdminAuth('owner')
  @ApiParam({ name: 'external_id' })
  @ApiOperation({ summary: 'Lift the ban' })
  @ApiNoContentResponse({ description: 'unbanned' })
  async unban(@Principal() p: AdminPrincipal, @Param('id') id: string, @Param('external_id') userId: string): Promise<void> {
    await this.inTenant(id, p, () => this.bans.unban({ kind: 'admin', adminId: p.adminId }, userId));
  }
}
