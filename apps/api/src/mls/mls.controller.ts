import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Principal, UserAuth, UserPrincipal } from '@chat/auth';
import type { ClaimedKeyPackageView, KeyPackageCountView } from '@chat/contracts';
import { MlsDeliveryService, MlsGroupView, MlsMessageView, MlsWelcomeView } from '@chat/mls';
import { MlsMessagesQueryDto, PostCommitDto, PostMlsMessageDto, PublishKeyPackagesDto } from './mls.dto';
import { ApiView } from '@chat/api-docs';
import { BodyLimit } from '@chat/server';

/** The caller's devices as MLS clients: identity, key packages, Welcome inbox (end-user token). */
@ApiTags('mls')
@Controller('v1/me/devices/:device_id/mls')
@UserAuth()
export class MyMlsDeviceController {
  constructor(private readonly ds: MlsDeliveryService) {}

  @Get('identity')
  @ApiOperation({ summary: 'The credential identity (tenant/user/device) this device must put in its key packages' })
  @ApiView('MlsIdentityView')
  identity(@Principal() p: UserPrincipal, @Param('device_id') deviceId: string): { identity: string } {
    return { identity: this.ds.identityOf(p.tenantId, p.userId, deviceId) };
  }

  @Post('key-packages')
  @ApiOperation({ summary: 'Publish key packages of my device (each parsed, signature checked, identity must be mine)' })
  @ApiResponse({ status: 403, description: 'a credential names another tenant, user or device' })
  @ApiView('KeyPackageCountView', { status: 201 })
  publish(@Principal() p: UserPrincipal, @Param('device_id') deviceId: string, @Body() dto: PublishKeyPackagesDto): Promise<KeyPackageCountView> {
    return this.ds.publishKeyPackages(p.tenantId, p.userId, deviceId, dto);
  }

  @Get('key-packages')
  @ApiOperation({ summary: 'How many unclaimed one-time key packages my device has left, and whether it has a last-resort one' })
  @ApiView('KeyPackageCountView')
  count(@Principal() p: UserPrincipal, @Param('device_id') deviceId: string): Promise<KeyPackageCountView> {
    return this.ds.countKeyPackages(p.userId, deviceId);
  }

  @Get('welcomes')
  @ApiOperation({ summary: 'Welcome messages waiting for my device, oldest first' })
  @ApiView.list('MlsWelcomeView')
  welcomes(@Principal() p: UserPrincipal, @Param('device_id') deviceId: string): Promise<{ data: MlsWelcomeView[] }> {
    return this.ds.welcomeInbox(p.userId, deviceId);
  }

  @Delete('welcomes/:welcome_id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a processed Welcome from my device inbox' })
  @ApiView.empty()
  async removeWelcome(@Principal() p: UserPrincipal, @Param('device_id') deviceId: string, @Param('welcome_id') id: string): Promise<void> {
    await this.ds.removeWelcome(p.userId, deviceId, id);
  }
}

/** Key packages of another user of the tenant, to add their devices to a group. */
@ApiTags('mls')
@Controller('v1/users/:external_id/mls')
@UserAuth()
export class UserMlsController {
  constructor(private readonly ds: MlsDeliveryService) {}

  @Post('key-packages/claim')
  @HttpCode(200)
  @ApiOperation({ summary: "Claim one key package per device of the user (one-time ones are never handed out twice; the last-resort one is not consumed)" })
  @ApiView.list('ClaimedKeyPackageView')
  async claim(@Principal() p: UserPrincipal, @Param('external_id') userId: string): Promise<{ data: ClaimedKeyPackageView[] }> {
    return { data: await this.ds.claimKeyPackages(p.userId, userId) };
  }
}

/** A conversation's MLS group at the Delivery Service: members only (others get the 404 of a missing conversation). */
@ApiTags('mls')
@Controller('v1/conversations/:id/mls')
@ApiParam({ name: 'id', description: 'conversation id' })
@UserAuth()
export class ConversationMlsController {
  constructor(private readonly ds: MlsDeliveryService) {}

  @Get()
  @ApiOperation({ summary: "The group's epoch and latest GroupInfo (to catch up or join by external commit)" })
  @ApiView('MlsGroupView')
  group(@Principal() p: UserPrincipal, @Param('id') id: string): Promise<MlsGroupView> {
    return this.ds.group(id, p.userId);
  }

  @Post('commits')
  // The GroupInfo carries the ratchet tree (~300 base64 bytes a device): bounded by its own setting.
  @BodyLimit('MLS_COMMIT_BODY_LIMIT_BYTES')
  @ApiOperation({ summary: 'Post a commit made at the group epoch (the first, at epoch 0, creates the group); routes its Welcome' })
  @ApiResponse({ status: 413, description: 'payload_too_large: the body is over MLS_COMMIT_BODY_LIMIT_BYTES (details.max_bytes)' })
  @ApiResponse({ status: 409, description: 'conflict: the group is at another epoch (details.epoch); process the newer commits and retry' })
  @ApiView('MlsCommitResultView', { status: 201 })
  postCommit(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: PostCommitDto) {
    return this.ds.postCommit(p.tenantId, id, p.userId, dto);
  }

  @Post('messages')
  @ApiOperation({ summary: 'Post an application message (opaque MLS PrivateMessage)' })
  @ApiView('MlsMessageView', { status: 201 })
  postMessage(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: PostMlsMessageDto): Promise<MlsMessageView> {
    return this.ds.postApplicationMessage(id, p.userId, dto);
  }

  @Get('messages')
  @ApiOperation({ summary: 'Commits and application messages of the group in the order the server accepted them' })
  @ApiView.page('MlsMessageView')
  messages(@Principal() p: UserPrincipal, @Param('id') id: string, @Query() q: MlsMessagesQueryDto): Promise<{ data: MlsMessageView[]; next_cursor: string | null }> {
    return this.ds.listMessages(id, p.userId, q);
  }
}
