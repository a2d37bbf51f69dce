import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsISO8601, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { IsPlainText } from '@chat/errors';
import { SCOPE_RE } from '@chat/platform';

export class CreateApiKeyDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(200) @IsPlainText() name?: string;
  /** e.g. users:write, conversations:write, messages:read, files:write; `<resource>:*` or `*` for all. */
  @ApiProperty({ type: [String], example: ['users:write', 'conversations:write', 'messages:read'] })
  @IsArray() @ArrayNotEmpty() @ArrayMaxSize(50) @IsString({ each: true }) @Matches(SCOPE_RE, { each: true, message: 'each scope must look like resource:read, resource:write, resource:* or *' })
  scopes!: string[];
  /** ISO 8601; absent: never expires. */
  @ApiPropertyOptional() @IsOptional() @IsISO8601({ strict: true }) expires_at?: string;
}
