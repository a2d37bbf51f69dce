import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBase64,
  IsBoolean,
  IsIn,
  IsInt,
  IsMongoId,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { DEVICE_ID_RE } from '@chat/keys';
import { HISTORY_VISIBILITIES, type HistoryVisibility, MAX_BACKUP_ENTRIES_PER_REQUEST } from '@chat/mls-history';

const HEX_ID = /^[0-9a-f]{32}$/;
/** Hex MLS group id (the SDK's are 16 bytes; RFC 9420 allows up to 255). */
const GROUP_ID = /^[0-9a-f]{2,510}$/;
const EPOCH_MAX = Number.MAX_SAFE_INTEGER;
/** base64 of nonce(24) || key(32) || tag(16) is 96 characters; room for longer keys. */
const ENTRY_CIPHERTEXT_MAX = 256;
/** A history bundle: 36 bytes per earlier epoch; 256 KiB of base64 covers ~5,000 epochs. */
const BUNDLE_MAX = 256 * 1024;

// ------------------------------------------------------------------------------------------------ errors

export class ApiErrorDetailDto {
  @ApiProperty({ example: 'validation_failed' }) code!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) details?: Record<string, unknown>;
}

/** The one error shape (libs/errors). */
export class ApiErrorDto {
  @ApiProperty({ type: ApiErrorDetailDto }) error!: ApiErrorDetailDto;
}

// ------------------------------------------------------------------------------------------------ key backup

export class ScryptParamsDto {
  @ApiProperty({ description: 'scrypt cost (a power of two)', minimum: 2, maximum: 1048576 }) @IsInt() @Min(2) @Max(2 ** 20) N!: number;
  @ApiProperty({ minimum: 1, maximum: 32 }) @IsInt() @Min(1) @Max(32) r!: number;
  @ApiProperty({ minimum: 1, maximum: 16 }) @IsInt() @Min(1) @Max(16) p!: number;
}

export class BackupKeyWrapDto {
  @ApiProperty({ enum: ['recovery_key', 'passphrase'] }) @IsIn(['recovery_key', 'passphrase']) kind!: 'recovery_key' | 'passphrase';
  @ApiProperty({ description: 'base64 salt (16 bytes)' }) @IsString() @Length(24, 24) @IsBase64() salt!: string;
  @ApiProperty({ description: 'base64 nonce || AEAD(backup key): 72 bytes' }) @IsString() @Length(1, 256) @IsBase64() wrapped_key!: string;
  @ApiPropertyOptional({ type: ScryptParamsDto, description: 'passphrase wraps only' })
  @ValidateIf((o: BackupKeyWrapDto) => o.kind === 'passphrase' || o.scrypt !== undefined)
  @IsObject()
  @ValidateNested()
  @Type(() => ScryptParamsDto)
  scrypt?: ScryptParamsDto;
}

export class PutKeyBackupDto {
  @ApiProperty({ description: 'hex(HKDF(backup key, "chat/key-backup/id/v1")[0..16])' }) @IsString() @Matches(HEX_ID, { message: 'backup_id must be 32 lowercase hex characters' }) backup_id!: string;
  @ApiProperty({ type: [BackupKeyWrapDto], minItems: 1, maxItems: 4 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(4)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => BackupKeyWrapDto)
  wraps!: BackupKeyWrapDto[];
  @ApiPropertyOptional({ description: 'replace a backup made with another backup key (its entries are deleted)', default: false }) @IsOptional() @IsBoolean() replace?: boolean;
}

export class KeyBackupEntryDto {
  @ApiProperty({ description: 'hex MLS group id' }) @IsString() @Matches(GROUP_ID, { message: 'group_id must be lowercase hex' }) group_id!: string;
  @ApiProperty({ minimum: 0 }) @IsInt() @Min(0) @Max(EPOCH_MAX) epoch!: number;
  @ApiProperty({ description: 'base64 nonce || AEAD(epoch key)' }) @IsString() @Length(1, ENTRY_CIPHERTEXT_MAX) @IsBase64() ciphertext!: string;
}

export class PutKeyBackupEntriesDto {
  @ApiProperty() @IsString() @Matches(HEX_ID, { message: 'backup_id must be 32 lowercase hex characters' }) backup_id!: string;
  @ApiProperty({ type: [KeyBackupEntryDto], minItems: 1, maxItems: MAX_BACKUP_ENTRIES_PER_REQUEST })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BACKUP_ENTRIES_PER_REQUEST)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => KeyBackupEntryDto)
  entries!: KeyBackupEntryDto[];
}

export class KeyBackupEntriesQueryDto {
  @ApiPropertyOptional({ description: 'only this group' }) @IsOptional() @IsString() @Matches(GROUP_ID) group_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsMongoId() cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_BACKUP_ENTRIES_PER_REQUEST, default: MAX_BACKUP_ENTRIES_PER_REQUEST })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_BACKUP_ENTRIES_PER_REQUEST)
  limit?: number;
}

export class KeyBackupResponseDto {
  @ApiProperty() backup_id!: string;
  @ApiProperty({ type: [BackupKeyWrapDto] }) wraps!: BackupKeyWrapDto[];
  @ApiProperty() entry_count!: number;
  @ApiProperty() created_at!: Date;
  @ApiProperty() updated_at!: Date;
}

export class KeyBackupEntriesStoredDto {
  @ApiProperty() stored!: number;
  @ApiProperty() entry_count!: number;
}

export class KeyBackupEntriesPageDto {
  @ApiProperty() backup_id!: string;
  @ApiProperty({ type: [KeyBackupEntryDto] }) data!: KeyBackupEntryDto[];
  @ApiProperty({ type: String, nullable: true }) next_cursor!: string | null;
}

// ------------------------------------------------------------------------------------------------ history

export class SetHistoryVisibilityDto {
  @ApiProperty({ enum: HISTORY_VISIBILITIES, description: "joined: new members read from their join on (default); shared: members' devices share earlier epoch keys with new members" })
  @IsIn(HISTORY_VISIBILITIES as unknown as string[])
  history_visibility!: HistoryVisibility;
}

export class HistoryInfoDto {
  @ApiProperty() conversation_id!: string;
  @ApiProperty({ enum: HISTORY_VISIBILITIES }) history_visibility!: HistoryVisibility;
  @ApiProperty() joined_at!: string;
  @ApiProperty({ description: "the conversation's seq when the caller joined: messages up to it were sent before" }) joined_seq!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'the first MLS epoch a device of the caller was in the group (after their first own commit, else the epoch at their join; null: no group yet)' }) joined_epoch!: number | null;
}

export class PostHistoryBundleDto {
  @ApiProperty({ description: 'the sending device' }) @IsString() @Matches(DEVICE_ID_RE, { message: 'device_id must be 1-64 characters of A-Z a-z 0-9 _ . : -' }) device_id!: string;
  @ApiProperty({ description: 'hex MLS group id of the conversation' }) @IsString() @Matches(GROUP_ID) group_id!: string;
  @ApiProperty({ description: 'the epoch whose history key encrypts the bundle (the epoch the new member joined at)', minimum: 0 }) @IsInt() @Min(0) @Max(EPOCH_MAX) epoch!: number;
  @ApiProperty({ description: 'base64 nonce || AEAD(earlier epoch keys)' }) @IsString() @MaxLength(BUNDLE_MAX) @IsBase64() ciphertext!: string;
}

export class HistoryBundleDto {
  @ApiProperty() id!: string;
  @ApiProperty() group_id!: string;
  @ApiProperty() epoch!: number;
  @ApiProperty() sender_user_id!: string;
  @ApiProperty() sender_device_id!: string;
  @ApiProperty() ciphertext!: string;
  @ApiProperty() created_at!: Date;
}

export class HistoryBundlesPageDto {
  @ApiProperty({ type: [HistoryBundleDto] }) data!: HistoryBundleDto[];
  @ApiProperty({ type: String, nullable: true }) next_cursor!: string | null;
}

export class HistoryBundlesQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsMongoId() cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}
