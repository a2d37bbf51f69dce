import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsInt, IsISO8601, IsMongoId, IsOptional, IsString, Length, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { IsPlainText } from '@chat/errors';
import { REPORT_ACTIONS, REPORT_REASONS, REPORT_STATUS_FILTERS, ReportAction, ReportReason } from '@chat/contracts';
import { ReportStatusFilter } from './report.schema';

/** Largest reported payload: the largest message envelope (MESSAGE_MAX_BYTES' default) holds less plaintext than this. */
export const MAX_REPORT_PAYLOAD_CHARS = 65_536;

/** A member reports a message: what it decrypted and the franking key found inside (E2EChat.report does this). */
export class CreateReportDto {
  @ApiProperty({ description: 'the payload exactly as found in the franked plaintext (the committed string)' })
  @IsString()
  @Length(1, MAX_REPORT_PAYLOAD_CHARS)
  payload!: string;

  @ApiPropertyOptional({ description: 'base64 franking key (32 bytes) from the decrypted message; omit only for a message without a franking commitment' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, { message: 'franking_key must be 32 bytes in base64 (44 characters)' })
  franking_key?: string;

  @ApiProperty({ enum: REPORT_REASONS }) @IsIn(REPORT_REASONS) reason!: ReportReason;

  @ApiPropertyOptional({ maxLength: 1000 }) @IsOptional() @IsString() @MaxLength(1000) @IsPlainText({ multiline: true }) note?: string;
}

export class ReportQueryDto {
  @ApiPropertyOptional({ enum: REPORT_STATUS_FILTERS, description: 'resolved: dismissed or actioned' }) @IsOptional() @IsIn(REPORT_STATUS_FILTERS) status?: ReportStatusFilter;
  @ApiPropertyOptional() @IsOptional() @IsMongoId() conversation_id?: string;
  @ApiPropertyOptional({ description: 'next_cursor of the previous page' }) @IsOptional() @Matches(/^[0-9a-f]{24}$/, { message: 'cursor must be a next_cursor value' }) cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}

export class ResolveReportDto {
  @ApiPropertyOptional({ maxLength: 1000 }) @IsOptional() @IsString() @MaxLength(1000) @IsPlainText({ multiline: true }) note?: string;
}

export class BanOptionsDto {
  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @MaxLength(500) @IsPlainText() reason?: string;
  @ApiPropertyOptional({ description: 'ISO 8601; absent: until unbanned' }) @IsOptional() @IsISO8601({ strict: true }) expires_at?: string;
}

export class ActOnReportDto {
  @ApiProperty({ enum: REPORT_ACTIONS, isArray: true, description: 'delete_message: the reported message is deleted (tombstone); ban_user: its sender is banned tenant-wide' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(REPORT_ACTIONS.length)
  @ArrayUnique()
  @IsIn(REPORT_ACTIONS, { each: true })
  actions!: ReportAction[];

  @ApiPropertyOptional({ type: BanOptionsDto }) @IsOptional() @ValidateNested() @Type(() => BanOptionsDto) ban?: BanOptionsDto;

  @ApiPropertyOptional({ maxLength: 1000 }) @IsOptional() @IsString() @MaxLength(1000) @IsPlainText({ multiline: true }) note?: string;
}
