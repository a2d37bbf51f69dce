import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsISO8601, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsPlainText } from '@chat/errors';
import { SLOW_MODE_MAX_SECONDS } from './conversations/conversation-moderation.service';
import { SYSTEM_TEXT_MAX } from './system-messages/system-messages.service';

// ------------------------------------------------------------------ requests

/** A ban or mute: optional reason and end (absent: until lifted). */
export class RestrictionDto {
  @ApiPropertyOptional({ description: 'why (single line, kept in the record, the audit log and the webhook event)' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  @IsPlainText()
  reason?: string;

  @ApiPropertyOptional({ description: 'ISO 8601 instant the restriction ends; absent: until lifted. Must be in the future' })
  @IsOptional()
  @IsISO8601({ strict: true })
  expires_at?: string;
}

export class UpdateConversationModerationDto {
  @ApiPropertyOptional({ description: 'read-only for everyone (system messages still go through)' }) @IsOptional() @IsBoolean() frozen?: boolean;

  @ApiPropertyOptional({ description: `one message per this many seconds per member (owners and admins exempt); 0 turns it off`, minimum: 0, maximum: SLOW_MODE_MAX_SECONDS })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(SLOW_MODE_MAX_SECONDS)
  slow_mode_seconds?: number;
}

export class SystemMessageDto {
  @ApiProperty({ description: 'plaintext shown to every member; NOT end-to-end encrypted', maxLength: SYSTEM_TEXT_MAX })
  @IsString()
  @Length(1, SYSTEM_TEXT_MAX)
  @IsPlainText({ multiline: true })
  text!: string;

  @ApiPropertyOptional({ description: 'idempotency key: a retried post returns the original message' })
  @IsOptional()
  @IsString()
  @Matches(/^(?!gap:)[A-Za-z0-9_.:-]{1,64}$/, { message: 'client_msg_id must be 1-64 characters of A-Z a-z 0-9 _ . : - (not starting with gap:)' })
  client_msg_id?: string;
}

export class ModerationPageQueryDto {
  @ApiPropertyOptional({ description: 'next_cursor of the previous page' }) @IsOptional() @IsString() @MaxLength(128) cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}
