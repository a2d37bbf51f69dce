import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiNotFoundResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiView } from '@chat/api-docs';
import { ApiKeyAuth, ApiKeyPrincipal, Principal } from '@chat/auth';
import { ModerationPageQueryDto, RestrictionDto, UserBansService, UserBanView } from '@chat/moderation';

/** Tenant-wide bans of end users, by the SaaS server (API key with `moderation:write`; reads `moderation:read`). */
@ApiTags('moderation')
@Controller('v1')
export class UserBansController {
  constructor(private readonly bans: UserBansService) {}

  @Get('bans')
  @ApiKeyAuth('moderation:read')
  @ApiOperation({ summary: 'Banned users of the tenant (expired bans included, active false), by cursor' })
  @ApiView.page('UserBanView')
  list(@Query() q: ModerationPageQueryDto): Promise<{ data: UserBanView[]; next_cursor: string | null }> {
    return this.bans.list(q);
  }

  @Get('users/:external_id/ban')
  @ApiKeyAuth('moderation:read')
  @ApiParam({ name: 'external_id' })
  @ApiOperation({ summary: "The user's ban" })
  @ApiView('UserBanView')
  @ApiNotFoundResponse({ description: 'not banned (or no such user)' })
  get(@Param('external_id') userId: string): Promise<UserBanView> {
    return this.bans.get(userId);
  }

  @Put('users/:external_id/ban')
  @ApiKeyAuth('moderation:write')
  @ApiParam({ name: 'external_id' })
  @ApiOperation({ summary: 'Ban the user tenant-wide: sockets cut at once; handshakes, REST calls and socket events refused (403 user_banned) until unbanned or expires_at' })
  @ApiView('UserBanView')
  @ApiNotFoundResponse({ description: 'no such user' })
  ban(@Principal() p: ApiKeyPrincipal, @Param('external_id') userId: string, @Body() dto: RestrictionDto): Promise<UserBanView> {
    return this.bans.ban({ kind: 'server', keyId: p.keyId }, userId, dto);
  }

  @Delete('users/:external_id/ban')
  @HttpCode(204)
  @ApiKeyAuth('moderation:write')
  @ApiParam({ name: 'external_id' })
  @ApiOperation({ summary: 'Lift the ban' })
  @ApiNoContentResponse({ description: 'unbanned' })
  @ApiNotFoundResponse({ description: 'not banned' })
  async unban(@Principal() p: ApiKeyPrincipal, @Param('external_id') userId: string): Promise<void> {
    await this.bans.unban({ kind: 'server', keyId: p.keyId }, userId);
  }
}
