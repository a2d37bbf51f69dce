import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyOrUserAuth, Principal, UserAuth, UserPrincipal } from '@chat/auth';
import type { AuthPrincipal } from '@chat/auth';
import type { DownloadTicket, FileView, UploadTicket } from '@chat/contracts';
import { FileActor, FilesService } from '@chat/files';
import { AttachFileDto, CreateFileUploadDto, ListFilesQueryDto } from './files.dto';
import { ApiView } from '@chat/api-docs';

function actorOf(p: AuthPrincipal): FileActor {
  return p.kind === 'user' ? { kind: 'user', userId: p.userId } : { kind: 'server' };
}

/**
 * Encrypted files: the client encrypts, gets a presigned PUT, uploads straight to S3 and confirms.
 * A file the caller may not read answers 404, exactly like a missing one (or one of another tenant).
 */
@ApiTags('files')
@Controller('v1/files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Post()
  @UserAuth()
  @ApiOperation({ summary: 'Announce an encrypted file (size, checksums, sharing) and get a presigned PUT URL; the storage quota is checked here' })
  @ApiResponse({ status: 429, description: 'quota_exceeded (storage_bytes)' })
  @ApiView('UploadTicket', { status: 201 })
  create(@Principal() p: UserPrincipal, @Body() dto: CreateFileUploadDto): Promise<UploadTicket> {
    return this.files.createUpload(p.userId, dto);
  }

  @Post(':file_id/confirm')
  @UserAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'After the upload: the server checks the stored object (size, ETag/MD5, SHA-256) and makes the file ready' })
  @ApiResponse({ status: 422, description: 'upload_verification_failed: details.reason object_missing | size_mismatch | checksum_mismatch' })
  @ApiView('FileView')
  confirm(@Principal() p: UserPrincipal, @Param('file_id') fileId: string): Promise<FileView> {
    return this.files.confirm(p.userId, fileId);
  }

  @Get()
  @UserAuth()
  @ApiOperation({ summary: 'My files, newest first' })
  @ApiView.page('FileView')
  list(@Principal() p: UserPrincipal, @Query() q: ListFilesQueryDto): Promise<{ data: FileView[]; next_cursor: string | null }> {
    return this.files.listMine(p.userId, q);
  }

  @Get(':file_id')
  @ApiKeyOrUserAuth('files:read')
  @ApiOperation({ summary: 'File metadata (uploader, chat members, public until expiry; any file with an API key)' })
  @ApiView('FileView')
  get(@Principal() p: AuthPrincipal, @Param('file_id') fileId: string): Promise<FileView> {
    return this.files.get(actorOf(p), fileId);
  }

  @Get(':file_id/download')
  @ApiKeyOrUserAuth('files:read')
  @ApiOperation({ summary: 'A presigned GET URL for the ciphertext (same access rules)' })
  @ApiView('DownloadTicket')
  download(@Principal() p: AuthPrincipal, @Param('file_id') fileId: string): Promise<DownloadTicket> {
    return this.files.download(actorOf(p), fileId);
  }

  @Put(':file_id/message')
  @UserAuth()
  @ApiOperation({ summary: 'Link my file to the message that carries it: deleting the message deletes the file' })
  @ApiView('FileView')
  attach(@Principal() p: UserPrincipal, @Param('file_id') fileId: string, @Body() dto: AttachFileDto): Promise<FileView> {
    return this.files.attachToMessage(p.userId, fileId, dto.message_id, dto.conversation_id);
  }

  @Delete(':file_id')
  @ApiKeyOrUserAuth('files:write')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete (uploader, or the tenant server): marked now, removed from the bucket by the sweep' })
  @ApiView.empty()
  async remove(@Principal() p: AuthPrincipal, @Param('file_id') fileId: string): Promise<void> {
    await this.files.remove(actorOf(p), fileId);
  }
}
