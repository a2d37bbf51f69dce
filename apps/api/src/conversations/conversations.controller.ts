import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiKeyAuth, ApiKeyOrUserAuth, ApiKeyPrincipal, Principal, UserAuth, UserPrincipal } from '@chat/auth';
import { Actor, ChannelSummary, ConversationResponse, ConversationsService, Page } from '@chat/chat';
import { AppError } from '@chat/errors';
import {
  AddMembersDto,
  ConversationMetadataDto,
  CreateConversationDto,
  ListChannelsQueryDto,
  ListConversationsQueryDto,
  OpenDirectDto,
  ParticipantSettingsDto,
  SetRoleDto,
} from './conversations.dto';
import { ApiView, CONVERSATION_EXAMPLE } from '@chat/api-docs';

type Caller = ApiKeyPrincipal | UserPrincipal;

/**
 * Conversations for their members (end-user token). Membership management also accepts the SaaS
 * client's API key (acting as the server: no role checks). A conversation the caller is not in
 * answers 404 exactly like one that does not exist or belongs to another tenant.
 */
@ApiTags('conversations')
@Controller('v1/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  private async actor(p: Caller): Promise<Actor> {
    if (p.kind === 'api_key') return { kind: 'server' };
    return { kind: 'user', userId: p.userId };
  }

  @Post()
  @UserAuth()
  @ApiOperation({ summary: 'Create a group or channel; I am its owner' })
  @ApiView('ConversationView', { status: 201, example: CONVERSATION_EXAMPLE })
  async create(@Principal() p: UserPrincipal, @Body() dto: CreateConversationDto): Promise<ConversationResponse> {
    return this.conversations.create(p.userId, dto);
  }

  @Post('direct')
  @UserAuth()
  @ApiOperation({ summary: 'Open (or get) my direct conversation with a user. 403 when they blocked me' })
  @ApiView('ConversationView', { status: 201, description: 'created' })
  @ApiView('ConversationView', { description: 'already existed' })
  async direct(@Principal() p: UserPrincipal, @Body() dto: OpenDirectDto, @Res({ passthrough: true }) res: Response): Promise<ConversationResponse> {
    const { conversation, created } = await this.conversations.openDirect(p.userId, dto.user_id);
    res.status(created ? 201 : 200);
    return conversation;
  }

  @Get()
  @UserAuth()
  @ApiOperation({ summary: 'My conversations, newest activity first, with unread_count and last_message, by cursor' })
  @ApiView.page('ConversationView')
  async list(@Principal() p: UserPrincipal, @Query() q: ListConversationsQueryDto): Promise<Page<ConversationResponse>> {
    return this.conversations.list(p.userId, q);
  }

  @Get('channels')
  @ApiKeyOrUserAuth('conversations:read')
  @ApiOperation({ summary: 'Channel directory of the tenant (any user may join a channel), newest activity first' })
  @ApiView.page('ChannelSummary')
  async channels(@Principal() p: Caller, @Query() q: ListChannelsQueryDto): Promise<Page<ChannelSummary>> {
    await this.actor(p);
    return this.conversations.listChannels(q);
  }

  @Get(':id')
  @ApiKeyOrUserAuth('conversations:read')
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'One conversation (members only; any conversation of the tenant for an API key)' })
  @ApiView('ConversationView')
  async get(@Principal() p: Caller, @Param('id') id: string): Promise<ConversationResponse> {
    const actor = await this.actor(p);
    return actor.kind === 'server' ? this.conversations.getAny(id) : this.conversations.getForMember(id, actor.userId);
  }

  @Patch(':id')
  @ApiKeyOrUserAuth('conversations:write')
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'Change name, avatar, description (owners and admins of groups and channels)' })
  @ApiView('ConversationView')
  async update(@Principal() p: Caller, @Param('id') id: string, @Body() dto: ConversationMetadataDto): Promise<ConversationResponse> {
    return this.conversations.updateMetadata(id, await this.actor(p), dto);
  }

  @Post(':id/members')
  @HttpCode(200)
  @ApiKeyOrUserAuth('conversations:write')
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'Add members (owners and admins; idempotent for existing members)' })
  @ApiView('ConversationView')
  async addMembers(@Principal() p: Caller, @Param('id') id: string, @Body() dto: AddMembersDto): Promise<ConversationResponse> {
    return this.conversations.addMembers(id, await this.actor(p), dto.user_ids);
  }

  @Delete(':id/members/:user_id')
  @HttpCode(204)
  @ApiKeyOrUserAuth('conversations:write')
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'Remove a member (owners remove anyone, admins remove members; yourself = leave). Refused at once afterwards' })
  @ApiView.empty()
  async removeMember(@Principal() p: Caller, @Param('id') id: string, @Param('user_id') userId: string): Promise<void> {
    await this.conversations.removeMember(id, await this.actor(p), userId);
  }

  @Put(':id/members/:user_id/role')
  @ApiKeyOrUserAuth('conversations:write')
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: "Set a member's role (owners only; the last owner cannot step down: 409)" })
  @ApiView('ConversationView')
  async setRole(@Principal() p: Caller, @Param('id') id: string, @Param('user_id') userId: string, @Body() dto: SetRoleDto): Promise<ConversationResponse> {
    return this.conversations.setRole(id, await this.actor(p), userId, dto.role);
  }

  @Post(':id/leave')
  @HttpCode(204)
  @UserAuth()
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'Leave a group or channel (the last owner must hand over first: 409 last_owner)' })
  @ApiView.empty()
  async leave(@Principal() p: UserPrincipal, @Param('id') id: string): Promise<void> {
    await this.conversations.leave(id, p.userId);
  }

  @Post(':id/join')
  @HttpCode(200)
  @UserAuth()
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'Join a channel (any user of the tenant)' })
  @ApiView('ConversationView')
  async join(@Principal() p: UserPrincipal, @Param('id') id: string): Promise<ConversationResponse> {
    return this.conversations.join(id, p.userId);
  }

  @Patch(':id/settings')
  @UserAuth()
  @ApiParam({ name: 'id' })
  @ApiOperation({ summary: 'My settings in this conversation: muted, pinned' })
  @ApiView('ConversationView')
  async settings(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: ParticipantSettingsDto): Promise<ConversationResponse> {
    if (dto.muted === undefined && dto.pinned === undefined) throw AppError.validation([{ field: '', problems: ['give muted and/or pinned'] }]);
    return this.conversations.updateSettings(id, p.userId, dto);
  }
}

/** The SaaS client's server acting for one of its users (API key). */
@ApiTags('conversations')
@Controller('v1/users/:external_id/conversations')
@ApiParam({ name: 'external_id' })
export class UserConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @ApiKeyAuth('conversations:write')
  @ApiOperation({ summary: 'Create a group or channel owned by this user' })
  @ApiView('ConversationView', { status: 201 })
  create(@Param('external_id') externalId: string, @Body() dto: CreateConversationDto): Promise<ConversationResponse> {
    return this.conversations.create(externalId, dto);
  }

  @Post('direct')
  @ApiKeyAuth('conversations:write')
  @ApiOperation({ summary: "Open (or get) this user's direct conversation with another user" })
  @ApiView('ConversationView', { status: 201, description: 'created' })
  @ApiView('ConversationView', { description: 'already existed' })
  async direct(@Param('external_id') externalId: string, @Body() dto: OpenDirectDto, @Res({ passthrough: true }) res: Response): Promise<ConversationResponse> {
    const { conversation, created } = await this.conversations.openDirect(externalId, dto.user_id);
    res.status(created ? 201 : 200);
    return conversation;
  }

  @Get()
  @ApiKeyAuth('conversations:read')
  @ApiOperation({ summary: "This user's conversations, newest activity first" })
  @ApiView.page('ConversationView')
  list(@Param('external_id') externalId: string, @Query() q: ListConversationsQueryDto): Promise<Page<ConversationResponse>> {
    return this.conversations.list(externalId, q);
  }
}
