import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { IsPlainText } from '@chat/errors';
import { CONVERSATION_TYPES, PARTICIPANT_ROLES } from '@chat/contracts';
import type { ConversationType, ParticipantRole } from '@chat/contracts';
import { EXTERNAL_ID_MESSAGE, EXTERNAL_ID_PATTERN } from '../users/users.dto';

const defined = (field: string) => (o: Record<string, unknown>) => o[field] !== undefined;

export class ConversationMetadataDto {
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 200 })
  @IsOptional() @IsString() @MaxLength(200) @IsPlainText()
  name?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 2048 })
  @IsOptional() @IsString() @MaxLength(2048)
  avatar?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 2000 })
  @IsOptional() @IsString() @MaxLength(2000) @IsPlainText({ multiline: true })
  description?: string | null;
}

export class CreateConversationDto extends ConversationMetadataDto {
  @ApiProperty({ enum: ['group', 'channel'] })
  @IsIn(['group', 'channel'])
  type!: 'group' | 'channel';

  @ApiPropertyOptional({ type: [String], maxItems: 1000, description: 'external ids joining as members (the creator is the owner)' })
  @ValidateIf(defined('member_ids')) @IsArray() @ArrayMaxSize(1000) @IsString({ each: true }) @Matches(EXTERNAL_ID_PATTERN, { each: true, message: `each member id ${EXTERNAL_ID_MESSAGE}` })
  member_ids?: string[];
}

export class OpenDirectDto {
  @ApiProperty({ description: 'external id of the other user' })
  @IsString() @Matches(EXTERNAL_ID_PATTERN, { message: `user_id ${EXTERNAL_ID_MESSAGE}` })
  user_id!: string;
}

export class AddMembersDto {
  @ApiProperty({ type: [String], minItems: 1, maxItems: 1000 })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(1000) @IsString({ each: true }) @Matches(EXTERNAL_ID_PATTERN, { each: true, message: `each user id ${EXTERNAL_ID_MESSAGE}` })
  user_ids!: string[];
}

export class SetRoleDto {
  @ApiProperty({ enum: PARTICIPANT_ROLES })
  @IsIn(PARTICIPANT_ROLES as unknown as string[])
  role!: ParticipantRole;
}

export class ParticipantSettingsDto {
  @ApiPropertyOptional()
  @ValidateIf(defined('muted')) @IsBoolean()
  muted?: boolean;

  @ApiPropertyOptional()
  @ValidateIf(defined('pinned')) @IsBoolean()
  pinned?: boolean;
}

export class ListConversationsQueryDto {
  @ApiPropertyOptional({ description: 'next_cursor of the previous page', maxLength: 512 })
  @IsOptional() @IsString() @MaxLength(512)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit?: number;

  @ApiPropertyOptional({ enum: CONVERSATION_TYPES })
  @IsOptional() @IsIn(CONVERSATION_TYPES as unknown as string[])
  type?: ConversationType;
}

export class ListChannelsQueryDto {
  @ApiPropertyOptional({ description: 'next_cursor of the previous page', maxLength: 512 })
  @IsOptional() @IsString() @MaxLength(512)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100)
  limit?: number;
}
