import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBase64,
  IsIn,
  IsInt,
  IsISO8601,
  IsMongoId,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { CanonicalConversationId } from '@chat/chat';
import { SHARING_TYPES, SharingType } from '@chat/contracts';
// A file key is wrapped per recipient device exactly like a message key.
import { WrappedKeyEntryDto } from '../keys/keys.dto';


export class FileSharingDto {
  @ApiProperty({ enum: SHARING_TYPES, description: 'private: uploader only; chat: members of conversation_id; public: anyone in the tenant until expiry' })
  @IsIn(SHARING_TYPES)
  type!: SharingType;
  @ApiPropertyOptional({ description: 'required for chat files' }) @IsOptional() @IsMongoId() @CanonicalConversationId() conversation_id?: string;
  @ApiPropertyOptional({ description: 'public files only: ISO date after which only the uploader can read it' }) @IsOptional() @IsISO8601() expiry?: string;
}

export class FileDimensionsDto {
  @ApiProperty() @IsInt() @Min(1) @Max(1_000_000) width!: number;
  @ApiProperty() @IsInt() @Min(1) @Max(1_000_000) height!: number;
}


export class FileEncryptionDto {
  @ApiProperty({ example: 'xchacha20poly1305-file-v1' }) @IsString() @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/) algorithm!: string;
  @ApiPropertyOptional({ description: 'when the file key is wrapped here rather than inside a message' }) @IsOptional() @IsString() @Length(44, 44) @IsBase64() ephemeral_public_key?: string;
  @ApiPropertyOptional({ type: [WrappedKeyEntryDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10_000)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => WrappedKeyEntryDto)
  encrypted_key?: WrappedKeyEntryDto[];
}

export class CreateFileUploadDto {
  @ApiProperty({ description: 'ciphertext size in bytes' }) @IsInt() @Min(1) size!: number;
  @ApiProperty({ description: 'hex SHA-256 of the ciphertext' }) @IsString() @Matches(/^[0-9a-f]{64}$/) checksum!: string;
  @ApiProperty({ description: 'base64 MD5 of the ciphertext (signed into the upload URL as Content-MD5)' }) @IsString() @Length(24, 24) @IsBase64() content_md5!: string;
  @ApiProperty({ example: 'application/octet-stream', description: 'visible to the server: put the real type inside the encrypted message if it matters' })
  @IsString()
  @MaxLength(255)
  mime_type!: string;
  @ApiPropertyOptional({ description: 'visible to the server: leave it out and keep the name inside the encrypted message' }) @IsOptional() @IsString() @Length(1, 255) filename?: string;
  @ApiPropertyOptional({ type: FileDimensionsDto }) @IsOptional() @IsObject() @ValidateNested() @Type(() => FileDimensionsDto) dimensions?: FileDimensionsDto;
  @ApiProperty({ type: FileSharingDto }) @IsObject() @ValidateNested() @Type(() => FileSharingDto) sharing!: FileSharingDto;
  @ApiPropertyOptional({ type: FileEncryptionDto }) @IsOptional() @IsObject() @ValidateNested() @Type(() => FileEncryptionDto) encryption?: FileEncryptionDto;
}

export class AttachFileDto {
  @ApiProperty({ description: 'the message that carries the file (sent by me)' }) @IsMongoId() message_id!: string;
  @ApiPropertyOptional({ description: 'required when the file is not a chat file' }) @IsOptional() @IsMongoId() @CanonicalConversationId() conversation_id?: string;
}

export class ListFilesQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsMongoId() cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}
