import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsFreeFormObject, IsPlainText } from '@chat/errors';
import { USER_BATCH_MAX } from '@chat/chat';
import type { UserFields } from '@chat/chat';
import { RELATIONSHIP_TYPES, USER_STATUSES } from '@chat/contracts';
import type { RelationshipType, UserStatus } from '@chat/contracts';

export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9_.@:+=-]{1,128}$/;
export const EXTERNAL_ID_MESSAGE = 'must be 1-128 characters of A-Z a-z 0-9 _ . @ : + = -';

/** Free-form user data: the service also checks the size (MAX_FREEFORM_BYTES). */
const FREE_FORM = { maxBytes: 8 * 1024, maxDepth: 20 };
const FREE_FORM_TEXT = 'Free-form JSON object: at most 8 KiB, 20 levels, no key starting with $ or holding a dot';

const toBool = ({ value }: { value: unknown }) => (value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value);
const defined = (field: string) => (o: Record<string, unknown>) => o[field] !== undefined;

export class ProfileDto {
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 200 })
  @IsOptional() @IsString() @MaxLength(200) @IsPlainText()
  display_name?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 2048 })
  @IsOptional() @IsString() @MaxLength(2048)
  avatar_url?: string | null;

  @ApiPropertyOptional({ enum: USER_STATUSES })
  @ValidateIf(defined('status')) @IsIn(USER_STATUSES as unknown as string[])
  status?: UserStatus;

  @ApiPropertyOptional({ nullable: true, type: 'object', additionalProperties: true, description: FREE_FORM_TEXT })
  @IsOptional() @IsFreeFormObject(FREE_FORM)
  custom_data?: Record<string, unknown> | null;
}

export class SettingsDto {
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: FREE_FORM_TEXT })
  @ValidateIf(defined('notifications')) @IsFreeFormObject(FREE_FORM)
  notifications?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: `privacy.last_seen = false hides last_seen from other users. ${FREE_FORM_TEXT}` })
  @ValidateIf(defined('privacy')) @IsFreeFormObject(FREE_FORM)
  privacy?: Record<string, unknown>;
}

export class EncryptionDto {
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 4096 })
  @IsOptional() @IsString() @MaxLength(4096)
  public_key?: string | null;

  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 0 })
  @IsOptional() @IsInt() @Min(0)
  key_version?: number | null;
}

/** Body of PUT /v1/users/:external_id, PATCH /v1/users/:external_id and PATCH /v1/me. Only given keys change. */
export class UserFieldsDto {
  @ApiPropertyOptional({ type: ProfileDto })
  @ValidateIf(defined('profile')) @IsObject() @ValidateNested() @Type(() => ProfileDto)
  profile?: ProfileDto;

  @ApiPropertyOptional({ type: SettingsDto })
  @ValidateIf(defined('settings')) @IsObject() @ValidateNested() @Type(() => SettingsDto)
  settings?: SettingsDto;

  @ApiPropertyOptional({ type: EncryptionDto })
  @ValidateIf(defined('encryption')) @IsObject() @ValidateNested() @Type(() => EncryptionDto)
  encryption?: EncryptionDto;
}

export class BatchUserDto extends UserFieldsDto {
  @IsString() @Matches(EXTERNAL_ID_PATTERN, { message: `external_id ${EXTERNAL_ID_MESSAGE}` })
  external_id!: string;
}

export class BatchUpsertDto {
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(USER_BATCH_MAX) @IsObject({ each: true }) @ValidateNested({ each: true }) @Type(() => BatchUserDto)
  users!: BatchUserDto[];
}

export class TokenRequestDto {
  @ApiPropertyOptional({ minimum: 60, maximum: 86400, description: 'Default END_USER_TOKEN_TTL_SECONDS' })
  @IsOptional() @IsInt() @Min(60) @Max(86400)
  ttl_seconds?: number;
}

export class SearchUsersQueryDto {
  @ApiPropertyOptional({ description: 'Prefix of the display name, of a word of it, or of the external id (case-insensitive). Empty: everyone' })
  @IsOptional() @IsString() @MaxLength(128)
  prefix?: string;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page', maxLength: 512 })
  @IsOptional() @IsString() @MaxLength(512)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'API key only: include deactivated users' })
  @IsOptional() @Transform(toBool) @IsBoolean()
  include_deactivated?: boolean;
}

export class RelationshipDto {
  @ApiPropertyOptional({ enum: RELATIONSHIP_TYPES })
  @IsIn(RELATIONSHIP_TYPES as unknown as string[])
  type!: RelationshipType;
}

export class RelationshipsQueryDto {
  @ApiPropertyOptional({ enum: RELATIONSHIP_TYPES })
  @IsOptional() @IsIn(RELATIONSHIP_TYPES as unknown as string[])
  type?: RelationshipType;
}

/** Drops undefined keys so a PATCH never overwrites what it did not name. */
export function toUserFields(dto: UserFieldsDto): UserFields {
  const clean = <T extends object>(o: T | undefined): Partial<T> | undefined =>
    o === undefined ? undefined : (Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>);
  return {
    profile: clean(dto.profile) as UserFields['profile'],
    settings: clean(dto.settings) as UserFields['settings'],
    encryption: clean(dto.encryption) as UserFields['encryption'],
  };
}
