import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Principal, UserAuth, UserPrincipal } from '@chat/auth';
import { Page, RelationshipsService, RelationshipView, UsersService, UserView } from '@chat/chat';
import { RELATIONSHIP_TYPES, type RelationshipType } from '@chat/contracts';
import { AppError } from '@chat/errors';
import { RelationshipDto, RelationshipsQueryDto, toUserFields, UserFieldsDto } from './users.dto';
import { ApiView } from '@chat/api-docs';

/** The end user's own profile, settings and relationships (friend, blocked, muted). */
@ApiTags('me')
@Controller('v1/me')
@UserAuth()
export class MeController {
  constructor(
    private readonly users: UsersService,
    private readonly relationships: RelationshipsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'My profile and settings' })
  @ApiView('UserView')
  me(@Principal() p: UserPrincipal): Promise<UserView> {
    return this.users.get(p.userId);
  }

  @Patch()
  @ApiOperation({ summary: 'Update my profile, settings or public key (only the given fields change)' })
  @ApiView('UserView')
  async update(@Principal() p: UserPrincipal, @Body() dto: UserFieldsDto): Promise<UserView> {
    return this.users.update(p.userId, toUserFields(dto));
  }

  @Get('relationships')
  @ApiOperation({ summary: 'My relationships (all in one page), optionally of one type' })
  @ApiView.page('RelationshipView')
  async list(@Principal() p: UserPrincipal, @Query() q: RelationshipsQueryDto): Promise<Page<RelationshipView>> {
    return { data: await this.relationships.list(p.userId, q.type), next_cursor: null };
  }

  @Put('relationships/:user_id')
  @ApiOperation({ summary: 'Befriend, block or mute a user (idempotent). Blocking ends a friendship and stops direct conversations and messages from them' })
  @ApiView('RelationshipView')
  async set(@Principal() p: UserPrincipal, @Param('user_id') userId: string, @Body() dto: RelationshipDto): Promise<RelationshipView> {
    return this.relationships.set(p.userId, userId, dto.type);
  }

  @Delete('relationships/:user_id/:type')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a relationship (idempotent)' })
  @ApiView.empty()
  async remove(@Principal() p: UserPrincipal, @Param('user_id') userId: string, @Param('type') type: string): Promise<void> {
    if (!RELATIONSHIP_TYPES.includes(type as RelationshipType)) {
      throw AppError.validation([{ field: 'type', problems: [`must be one of ${RELATIONSHIP_TYPES.join(', ')}`] }]);
    }
    await this.relationships.remove(p.userId, userId, type as RelationshipType);
  }
}
