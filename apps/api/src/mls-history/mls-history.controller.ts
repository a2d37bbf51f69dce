import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Principal, UserAuth, UserPrincipal } from '@chat/auth';
import { KeyBackupService, MlsHistoryService } from '@chat/mls-history';
import {
  ApiErrorDto,
  HistoryBundleDto,
  HistoryBundlesPageDto,
  HistoryBundlesQueryDto,
  HistoryInfoDto,
  KeyBackupEntriesPageDto,
  KeyBackupEntriesQueryDto,
  KeyBackupEntriesStoredDto,
  KeyBackupResponseDto,
  PostHistoryBundleDto,
  PutKeyBackupDto,
  PutKeyBackupEntriesDto,
  SetHistoryVisibilityDto,
} from './mls-history.dto';

/** The caller's key backup: ciphertext only, the caller's own (end-user token; other users' backups are unreachable). */
@ApiTags('key-backup')
@Controller('v1/me/key-backup')
@UserAuth()
@ApiUnauthorizedResponse({ type: ApiErrorDto })
export class KeyBackupController {
  constructor(private readonly backups: KeyBackupService) {}

  @Get()
  @ApiOperation({ summary: 'My key backup: its id, the wrapped backup key(s) and how many epoch keys it holds' })
  @ApiOkResponse({ type: KeyBackupResponseDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'no backup yet' })
  get(@Principal() p: UserPrincipal): Promise<KeyBackupResponseDto> {
    return this.backups.get(p.userId);
  }

  @Put()
  @ApiOperation({ summary: 'Create my key backup, re-wrap its key (same backup_id: rotation keeps the entries), or replace it (replace: true)' })
  @ApiOkResponse({ type: KeyBackupResponseDto, description: 're-wrapped or replaced' })
  @ApiCreatedResponse({ type: KeyBackupResponseDto, description: 'created' })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'a backup with another backup key exists (details.backup_id)' })
  async put(@Principal() p: UserPrincipal, @Body() dto: PutKeyBackupDto, @Res({ passthrough: true }) res: Response): Promise<KeyBackupResponseDto> {
    const { view, created } = await this.backups.put(p.userId, dto);
    res.status(created ? 201 : 200);
    return view;
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete my key backup and every entry of it' })
  @ApiNoContentResponse({ description: 'deleted' })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async remove(@Principal() p: UserPrincipal): Promise<void> {
    await this.backups.remove(p.userId);
  }

  @Post('entries')
  @HttpCode(200)
  @ApiOperation({ summary: 'Store encrypted epoch keys in my backup (a (group, epoch) stored again is replaced)' })
  @ApiOkResponse({ type: KeyBackupEntriesStoredDto })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'no backup yet' })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'the backup has another backup key now (details.backup_id)' })
  @ApiTooManyRequestsResponse({ type: ApiErrorDto, description: 'quota_exceeded: the backup holds its maximum of entries' })
  putEntries(@Principal() p: UserPrincipal, @Body() dto: PutKeyBackupEntriesDto): Promise<KeyBackupEntriesStoredDto> {
    return this.backups.putEntries(p.userId, dto);
  }

  @Get('entries')
  @ApiOperation({ summary: 'Encrypted epoch keys of my backup, by cursor' })
  @ApiOkResponse({ type: KeyBackupEntriesPageDto })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'no backup yet' })
  entries(@Principal() p: UserPrincipal, @Query() q: KeyBackupEntriesQueryDto): Promise<KeyBackupEntriesPageDto> {
    return this.backups.listEntries(p.userId, q);
  }
}

/** A conversation's history visibility and history bundles (members only; others get the 404 of a missing conversation). */
@ApiTags('mls')
@Controller('v1/conversations/:id/mls/history')
@ApiParam({ name: 'id', description: 'conversation id' })
@UserAuth()
@ApiUnauthorizedResponse({ type: ApiErrorDto })
@ApiNotFoundResponse({ type: ApiErrorDto, description: 'not a member, or no such conversation' })
export class ConversationHistoryController {
  constructor(private readonly history: MlsHistoryService) {}

  @Get()
  @ApiOperation({ summary: "The conversation's history visibility and when I joined (seq and MLS epoch): what earlier messages are not for me" })
  @ApiOkResponse({ type: HistoryInfoDto })
  info(@Principal() p: UserPrincipal, @Param('id') id: string): Promise<HistoryInfoDto> {
    return this.history.info(id, p.userId);
  }

  @Put()
  @ApiOperation({ summary: 'Set the history visibility (owners and admins): joined (default) or shared' })
  @ApiOkResponse({ type: HistoryInfoDto })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  @ApiForbiddenResponse({ type: ApiErrorDto, description: 'not an owner or admin' })
  set(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: SetHistoryVisibilityDto): Promise<HistoryInfoDto> {
    return this.history.setVisibility(id, p.userId, dto.history_visibility);
  }

  @Post('bundles')
  @ApiOperation({ summary: 'Store a history bundle: earlier epoch keys encrypted under a key of the epoch a new member joined at (shared visibility only)' })
  @ApiCreatedResponse({ type: HistoryBundleDto })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  @ApiForbiddenResponse({ type: ApiErrorDto, description: "history visibility is 'joined'" })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'the group has not reached that epoch' })
  @ApiTooManyRequestsResponse({ type: ApiErrorDto, description: 'quota_exceeded: too many bundles for this conversation' })
  addBundle(@Principal() p: UserPrincipal, @Param('id') id: string, @Body() dto: PostHistoryBundleDto): Promise<HistoryBundleDto> {
    return this.history.addBundle(id, p.userId, dto);
  }

  @Get('bundles')
  @ApiOperation({ summary: "The conversation's history bundles, oldest first, by cursor" })
  @ApiOkResponse({ type: HistoryBundlesPageDto })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  bundles(@Principal() p: UserPrincipal, @Param('id') id: string, @Query() q: HistoryBundlesQueryDto): Promise<HistoryBundlesPageDto> {
    return this.history.listBundles(id, p.userId, q);
  }
}
