import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiKeyAuth, ApiKeyOrUserAuth, ApiKeyPrincipal, Principal, UserPrincipal, UserTokenService } from '@chat/auth';
import { Page, PublicUserView, toPublicUserView, UsersService, UserView } from '@chat/chat';
import { BatchUpsertDto, SearchUsersQueryDto, toUserFields, TokenRequestDto, UserFieldsDto } from './users.dto';
import { ApiView, USER_TOKEN_EXAMPLE } from '@chat/api-docs';

/** End users of the tenant, managed by the SaaS client's server (API key); search and profiles also for end users. */
@ApiTags('users')
@Controller('v1/users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: UserTokenService,
  ) {}

  @Get()
  @ApiKeyOrUserAuth('users:read')
  @ApiOperation({ summary: 'Search users by display-name (or word of it) or external-id prefix, by cursor. End users see public profiles of active users' })
  @ApiView.page('AnyUserView')
  async search(@Principal() p: ApiKeyPrincipal | UserPrincipal, @Query() q: SearchUsersQueryDto): Promise<Page<UserView | PublicUserView>> {
    if (p.kind === 'user') {
      const page = await this.users.search(q.prefix ?? '', { cursor: q.cursor, limit: q.limit, includeDeactivated: false });
      return { data: page.data.map(toPublicUserView), next_cursor: page.next_cursor };
    }
    return this.users.search(q.prefix ?? '', { cursor: q.cursor, limit: q.limit, includeDeactivated: q.include_deactivated ?? false });
  }

  @Post('batch')
  @HttpCode(200)
  @ApiKeyAuth('users:write')
  @ApiOperation({ summary: 'Upsert up to 1000 users in one call' })
  @ApiView('BatchUpsertView')
  batch(@Body() dto: BatchUpsertDto): Promise<{ created: string[]; updated: string[] }> {
    return this.users.upsertMany(dto.users.map((u) => ({ external_id: u.external_id, ...toUserFields(u) })));
  }

  @Put(':external_id')
  @ApiKeyAuth('users:write')
  @ApiOperation({ summary: 'Create or update a user (only the given fields change)' })
  @ApiView('UserView', { status: 201, description: 'created' })
  @ApiView('UserView', { description: 'updated' })
  async upsert(@Param('external_id') externalId: string, @Body() dto: UserFieldsDto, @Res({ passthrough: true }) res: Response): Promise<UserView> {
    const { user, created } = await this.users.upsert(externalId, toUserFields(dto));
    res.status(created ? 201 : 200);
    return user;
  }

  @Patch(':external_id')
  @ApiKeyAuth('users:write')
  @ApiOperation({ summary: 'Update an existing user (404 when absent)' })
  @ApiView('UserView')
  update(@Param('external_id') externalId: string, @Body() dto: UserFieldsDto): Promise<UserView> {
    return this.users.update(externalId, toUserFields(dto));
  }

  @Post(':external_id/deactivate')
  @HttpCode(200)
  @ApiKeyAuth('users:write')
  @ApiOperation({ summary: 'Deactivate: no new tokens, requests with existing tokens get 403, hidden from end-user search' })
  @ApiView('UserView')
  deactivate(@Param('external_id') externalId: string): Promise<UserView> {
    return this.users.setDeactivated(externalId, true);
  }

  @Post(':external_id/reactivate')
  @HttpCode(200)
  @ApiKeyAuth('users:write')
  @ApiOperation({ summary: 'Undo a deactivation' })
  @ApiView('UserView')
  reactivate(@Param('external_id') externalId: string): Promise<UserView> {
    return this.users.setDeactivated(externalId, false);
  }

  @Delete(':external_id')
  @HttpCode(204)
  @ApiKeyAuth('users:write')
  @ApiOperation({ summary: 'Delete a user: removed from every conversation (ownership passes on); their messages stay' })
  @ApiView.empty()
  async remove(@Param('external_id') externalId: string): Promise<void> {
    await this.users.remove(externalId);
  }

  @Get(':external_id')
  @ApiKeyOrUserAuth('users:read')
  @ApiOperation({ summary: 'One user: the full record for an API key, the public profile for an end user' })
  @ApiView('AnyUserView', { description: 'UserView for an API key or the user themself, PublicUserView for another end user' })
  async get(@Principal() p: ApiKeyPrincipal | UserPrincipal, @Param('external_id') externalId: string): Promise<UserView | PublicUserView> {
    if (p.kind === 'user') {
      if (externalId === p.userId) return this.users.get(p.userId);
      return toPublicUserView(await this.users.get(externalId));
    }
    return this.users.get(externalId);
  }

  @Post(':external_id/tokens')
  @ApiKeyAuth('users:write')
  @ApiOperation({ summary: "A short-lived end-user JWT (HS256, the application's secret) for an active user" })
  @ApiView('UserTokenView', { status: 201, example: USER_TOKEN_EXAMPLE })
  async token(@Principal() p: ApiKeyPrincipal, @Param('external_id') externalId: string, @Body() dto: TokenRequestDto): Promise<{ token: string; expires_at: string }> {
    await this.users.requireActive(externalId);
    return this.tokens.issue({ tenantId: p.tenantId, applicationId: p.applicationId, userId: externalId, ttlSeconds: dto.ttl_seconds });
  }
}
