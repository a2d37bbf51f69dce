import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Put, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiForbiddenResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiView } from '@chat/api-docs';
import { ApiKeyOrUserAuth, ApiKeyPrincipal, Principal, UserPrincipal } from '@chat/auth';
import {
  ConversationModerationService,
  ConversationModerationView,
  ModerationPageQueryDto,
  PinsService,
  PinView,
  RestrictionDto,
  RestrictionView,
  UpdateConversationModerationDto,
} from '@chat/moderation';
import { moderationActor } from './moderation-actor';

type Caller = ApiKeyPrincipal | UserPrincipal;
const NOT_FOUND = 'no such conversation (or member, or pin) in this tenant, or the caller is not a member';
const FORBIDDEN = 'not an owner/admin of this group or channel, or the target has the same or a higher role';

/**
 * Per-conversation moderation (docs/moderation.md): by the conversation's owners and admins (end-user
 * token) or the SaaS server (API key with `moderation:write`; reads `moderation:read`).
 */
@ApiTags('moderation')
@Controller('v1/conversations/:id')
@ApiParam({ name: 'id', description: 'conversation id' })
@ApiNotFoundResponse({ description: NOT_FOUND })
export class ConversationModerationController {
  constructor(
    private readonly moderation: ConversationModerationService,
    private readonly pins: PinsService,
  ) {}

  @Get('moderation')
  @ApiKeyOrUserAuth('moderation:read')
  @ApiOperation({ summary: 'Frozen, slow mode, muted members, and my own state (any member)' })
  @ApiView('ConversationModerationView')
  state(@Principal() p: Caller, @Param('id') id: string): Promise<ConversationModerationView> {
    return this.moderation.view(id, moderationActor(p));
  }

  @Patch('moderation')
  @ApiKeyOrUserAuth('moderation:write')
  @ApiOperation({ summary: 'Freeze / unfreeze, set slow mode (owners and admins, or the server)' })
  @ApiView('ConversationModerationView')
  @ApiForbiddenResponse({ description: FORBIDDEN })
  update(@Principal() p: Caller, @Param('id') id: string, @Body() dto: UpdateConversationModerationDto): Promise<ConversationModerationView> {
    return this.moderation.update(id, moderationActor(p), dto);
  }

  @Put('mutes/:user_id')
  @ApiKeyOrUserAuth('moderation:write')
  @ApiParam({ name: 'user_id' })
  @ApiOperation({ summary: 'Mute a member: read-only in this conversation until unmuted or expires_at' })
  @ApiView('RestrictionView')
  @ApiForbiddenResponse({ description: FORBIDDEN })
  mute(@Principal() p: Caller, @Param('id') id: string, @Param('user_id') userId: string, @Body() dto: RestrictionDto): Promise<RestrictionView> {
    return this.moderation.mute(id, moderationActor(p), userId, dto);
  }

  @Delete('mutes/:user_id')
  @HttpCode(204)
  @ApiKeyOrUserAuth('moderation:write')
  @ApiParam({ name: 'user_id' })
  @ApiOperation({ summary: 'Unmute a member' })
  @ApiNoContentResponse({ description: 'unmuted' })
  @ApiForbiddenResponse({ description: FORBIDDEN })
  async unmute(@Principal() p: Caller, @Param('id') id: string, @Param('user_id') userId: string): Promise<void> {
    await this.moderation.unmute(id, moderationActor(p), userId);
  }

  @Get('bans')
  @ApiKeyOrUserAuth('moderation:read')
  @ApiOperation({ summary: 'Users banned from this conversation (owners and admins, or the server), by cursor' })
  @ApiView.page('RestrictionView')
  @ApiForbiddenResponse({ description: FORBIDDEN })
  bans(@Principal() p: Caller, @Param('id') id: string, @Query() q: ModerationPageQueryDto): Promise<{ data: RestrictionView[]; next_cursor: string | null }> {
    return this.moderation.bans(id, moderationActor(p), q);
  }

  @Put('bans/:user_id')
  @ApiKeyOrUserAuth('moderation:write')
  @ApiParam({ name: 'user_id' })
  @ApiOperation({ summary: 'Ban a user: removed now; cannot join or be added again until unbanned or expires_at' })
  @ApiView('RestrictionView')
  @ApiForbiddenResponse({ description: FORBIDDEN })
  @ApiConflictResponse({ description: 'last_owner: the last owner cannot be removed' })
  ban(@Principal() p: Caller, @Param('id') id: string, @Param('user_id') userId: string, @Body() dto: RestrictionDto): Promise<RestrictionView> {
    return this.moderation.ban(id, moderationActor(p), userId, dto);
  }

  @Delete('bans/:user_id')
  @HttpCode(204)
  @ApiKeyOrUserAuth('moderation:write')
  @ApiParam({ name: 'user_id' })
  @ApiOperation({ summary: 'Lift a ban (the user may join or be added again; they are not re-added)' })
  @ApiNoContentResponse({ description: 'unbanned' })
  @ApiForbiddenResponse({ description: FORBIDDEN })
  async unban(@Principal() p: Caller, @Param('id') id: string, @Param('user_id') userId: string): Promise<void> {
    await this.moderation.unban(id, moderationActor(p), userId);
  }

  @Get('pins')
  @ApiKeyOrUserAuth('moderation:read')
  @ApiOperation({ summary: 'Pinned messages, newest pin first (any member; at most 50)' })
  @ApiView.page('PinView')
  listPins(@Principal() p: Caller, @Param('id') id: string): Promise<{ data: PinView[]; next_cursor: null }> {
    return this.pins.list(id, moderationActor(p));
  }

  @Put('pins/:message_id')
  @ApiKeyOrUserAuth('moderation:write')
  @ApiParam({ name: 'message_id' })
  @ApiOperation({ summary: 'Pin a message (owners and admins; either member of a direct conversation; the server). Idempotent' })
  @ApiView('PinView')
  @ApiForbiddenResponse({ description: FORBIDDEN })
  @ApiConflictResponse({ description: 'pins_full: 50 pins already' })
  pin(@Principal() p: Caller, @Param('id') id: string, @Param('message_id') messageId: string): Promise<PinView> {
    return this.pins.pin(id, moderationActor(p), messageId);
  }

  @Delete('pins/:message_id')
  @HttpCode(204)
  @ApiKeyOrUserAuth('moderation:write')
  @ApiParam({ name: 'message_id' })
  @ApiOperation({ summary: 'Unpin a message' })
  @ApiNoContentResponse({ description: 'unpinned' })
  @ApiForbiddenResponse({ description: FORBIDDEN })
  async unpin(@Principal() p: Caller, @Param('id') id: string, @Param('message_id') messageId: string): Promise<void> {
    await this.pins.unpin(id, moderationActor(p), messageId);
  }
}
