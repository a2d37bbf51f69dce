import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post, Put, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiKeyAuth, ApiKeyOrUserAuth, Principal, UserAuth, UserPrincipal } from '@chat/auth';
import { ConversationsService, MessagesService, UsersService } from '@chat/chat';
import { AppError, ErrorCode } from '@chat/errors';
import type { ConversationKeyVersionView, DeviceKeyView, DeviceView, MessageKeyShareView } from '@chat/contracts';
import { KeyDirectoryService, KeySharesService } from '@chat/keys';
import { CreateConversationKeyDto, MessageKeySharesQueryDto, PublishDeviceKeyDto, ShareMessageKeysDto, UserKeysQueryDto, WrappedKeySetDto } from './keys.dto';
import { ApiView } from '@chat/api-docs';

/** The caller's own devices and their public keys (end-user token). */
@ApiTags('keys')
@Controller('v1/me/devices')
@UserAuth()
export class MyDevicesController {
  constructor(private readonly directory: KeyDirectoryService) {}

  @Put(':device_id/keys')
  @ApiOperation({ summary: 'Publish a key version of one of my devices (201 new, 200 same keys again; 409 if the version exists with other keys or is not above the latest)' })
  @ApiView('DeviceKeyView', { status: 201, description: 'published' })
  @ApiView('DeviceKeyView', { description: 'the same key again (idempotent)' })
  async publish(@Principal() p: UserPrincipal, @Param('device_id') deviceId: string, @Body() dto: PublishDeviceKeyDto, @Res({ passthrough: true }) res: Response): Promise<DeviceKeyView> {
    const { key, created } = await this.directory.publish(p.userId, deviceId, dto);
    res.status(created ? 201 : 200);
    return key;
  }

  @Get()
  @ApiOperation({ summary: 'My live devices: the current key version of each, with every version it published' })
  @ApiView.list('DeviceView')
  async list(@Principal() p: UserPrincipal): Promise<{ data: DeviceView[] }> {
    return { data: await this.directory.listDevices(p.userId) };
  }

  @Delete(':device_id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove one of my devices: all its versions are revoked, senders stop wrapping keys for it' })
  @ApiView.empty()
  async remove(@Principal() p: UserPrincipal, @Param('device_id') deviceId: string): Promise<void> {
    await this.directory.removeDevice(p.userId, deviceId);
  }
}

/** Public keys of any user of the tenant; the SaaS server may also revoke a user's lost device. */
@ApiTags('keys')
@Controller('v1/users/:external_id')
export class UserKeysController {
  constructor(
    private readonly directory: KeyDirectoryService,
    private readonly users: UsersService,
  ) {}

  @Get('keys')
  @ApiKeyOrUserAuth('keys:read')
  @ApiOperation({ summary: "A user's public keys: current version of each live device, or every version (versions=all)" })
  @ApiView.list('DeviceKeyView')
  async keys(@Param('external_id') userId: string, @Query() q: UserKeysQueryDto): Promise<{ data: DeviceKeyView[] }> {
    if (!(await this.users.find(userId))) throw AppError.notFound('User');
    if (q.versions === 'all') return { data: await this.directory.allKeys([userId]) };
    return { data: [...((await this.directory.currentKeys([userId])).get(userId) ?? [])] };
  }

  @Delete('devices/:device_id')
  @ApiKeyAuth('keys:write')
  @HttpCode(204)
  @ApiOperation({ summary: "Server side: revoke a user's device (lost or compromised)" })
  @ApiView.empty()
  async revoke(@Param('external_id') userId: string, @Param('device_id') deviceId: string): Promise<void> {
    await this.directory.removeDevice(userId, deviceId);
  }
}

/**
 * Keys of a conversation's members: device public keys, conversation key versions and history
 * re-shares. Members only; anyone else gets the 404 of a missing conversation.
 */
@ApiTags('keys')
@Controller('v1/conversations/:id')
@ApiParam({ name: 'id', description: 'conversation id' })
export class ConversationKeysController {
  constructor(
    private readonly directory: KeyDirectoryService,
    private readonly shares: KeySharesService,
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
  ) {}

  private async members(conversationId: string, userId: string): Promise<string[]> {
    const conv = await this.conversations.requireMember(conversationId, userId);
    return conv.participants.map((m) => m.user_id);
  }

  @Get('keys')
  @UserAuth()
  @ApiOperation({ summary: 'Current public key of every live device of every member (what a sender wraps for)' })
  @ApiView('ConversationDevicesView')
  async memberKeys(@Principal() p: UserPrincipal, @Param('id') id: string): Promise<{ data: DeviceKeyView[]; members_without_keys: string[] }> {
    const memberIds = await this.members(id, p.userId);
    const byUser = await this.directory.currentKeys(memberIds);
    return {
      data: memberIds.flatMap((u) => byUser.get(u) ?? []),
      members_without_keys: memberIds.filter((u) => (byUser.get(u) ?? []).length === 0),
    };
  }

  @Post('conversation-keys')
  @UserAuth()
  @ApiOperation({ summary: 'Create a conversation key version, wrapped for every live device of every member (409 if it exists)' })
  @ApiResponse({ status: 422, description: 'missing_recipient_keys: details.missing' })
  @ApiView('ConversationKeyVersionView', { status: 201 })
  async createConversationKey(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: CreateConversationKeyDto): Promise<ConversationKeyVersionView> {
    return this.shares.createConversationKey(id, p.userId, await this.members(id, p.userId), dto);
  }

  @Get('conversation-keys')
  @UserAuth()
  @ApiOperation({ summary: 'Conversation key versions wrapped for my devices (newest first) and the newest version that exists' })
  @ApiView('ConversationKeysView')
  async listConversationKeys(@Principal() p: UserPrincipal, @Param('id') id: string) {
    await this.members(id, p.userId);
    return this.shares.listConversationKeys(id, p.userId);
  }

  @Post('conversation-keys/:version/shares')
  @UserAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Wrap an existing conversation key version for other members or devices' })
  @ApiView('KeyShareRecipientsView')
  async shareConversationKey(
    @Principal() p: UserPrincipal,
    @Param('id') id: string,
    @Param('version', new ParseIntPipe({ exceptionFactory: () => AppError.validation([{ field: 'version', problems: ['must be an integer'] }]) })) version: number,
    @Body() dto: WrappedKeySetDto,
  ): Promise<{ recipients: string[] }> {
    return this.shares.shareConversationKey(id, p.userId, await this.members(id, p.userId), version, dto);
  }

  @Post('key-shares')
  @UserAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'History re-sharing: earlier messages’ content keys re-wrapped for members who joined later' })
  @ApiView('StoredCountView')
  async shareMessageKeys(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: ShareMessageKeysDto): Promise<{ stored: number }> {
    const memberIds = await this.members(id, p.userId);
    return this.shares.shareMessageKeys(id, p.userId, memberIds, dto.shares, async (ids) => {
      const found = await Promise.all(
        ids.map((mid) =>
          this.messages.get(p.userId, id, mid).then(
            (m) => (m.deleted_at ? null : m.id),
            (err) => {
              if (err instanceof AppError && err.code === ErrorCode.NotFound) return null;
              throw err;
            },
          ),
        ),
      );
      return new Set(found.filter((x): x is string => x !== null));
    });
  }

  @Get('key-shares')
  @UserAuth()
  @ApiOperation({ summary: 'Message key shares addressed to me in this conversation, oldest first' })
  @ApiView.page('MessageKeyShareView')
  async listMessageKeyShares(@Principal() p: UserPrincipal, @Param('id') id: string, @Query() q: MessageKeySharesQueryDto): Promise<{ data: MessageKeyShareView[]; next_cursor: string | null }> {
    await this.members(id, p.userId);
    return this.shares.listMessageKeyShares(id, p.userId, { messageIds: q.message_ids, cursor: q.cursor, limit: q.limit });
  }
}
