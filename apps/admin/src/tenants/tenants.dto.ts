import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Matches, MaxLength, Min, MinLength, ValidateIf, ValidateNested } from 'class-validator';
import { IsFreeFormObject, IsPlainText } from '@chat/errors';
import { PLANS } from '@chat/contracts';
import { PageQueryDto } from '../common/pagination.dto';

const QUOTA_DOC = { type: Number, nullable: true, minimum: 0 } as const;

/** Quota overrides; in an update, null puts a field back to the plan default. */
export class QuotasDto {
  @ApiPropertyOptional(QUOTA_DOC) @IsOptional() @ValidateIf((_, v) => v !== null) @IsInt() @Min(0) users?: number | null;
  @ApiPropertyOptional(QUOTA_DOC) @IsOptional() @ValidateIf((_, v) => v !== null) @IsInt() @Min(0) messages_per_second?: number | null;
  @ApiPropertyOptional(QUOTA_DOC) @IsOptional() @ValidateIf((_, v) => v !== null) @IsInt() @Min(0) concurrent_connections?: number | null;
  @ApiPropertyOptional(QUOTA_DOC) @IsOptional() @ValidateIf((_, v) => v !== null) @IsInt() @Min(0) storage_bytes?: number | null;
  @ApiPropertyOptional(QUOTA_DOC) @IsOptional() @ValidateIf((_, v) => v !== null) @IsInt() @Min(0) api_requests_per_minute?: number | null;
}

/** Free-form JSON the server stores as given (see IsFreeFormObject). */
export const FREE_FORM_DOC = {
  type: 'object',
  additionalProperties: true,
  description: 'Free-form JSON object: at most 16 KiB, 20 levels, no key starting with $ or holding a dot',
} as const;

const REGION_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;

export class CreateTenantDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(200) @IsPlainText() name!: string;
  @ApiPropertyOptional() @IsOptional() @IsIn(PLANS) plan?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(REGION_RE, { message: 'region must be lowercase letters, digits and dashes' }) region?: string;
  @ApiPropertyOptional() @IsOptional() @IsObject() @ValidateNested() @Type(() => QuotasDto) quotas?: QuotasDto;
  @ApiPropertyOptional(FREE_FORM_DOC) @IsOptional() @IsFreeFormObject() metadata?: Record<string, unknown>;
}

export class UpdateTenantDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MinLength(1) @MaxLength(200) @IsPlainText() name?: string;
  @ApiPropertyOptional() @IsOptional() @IsIn(PLANS) plan?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(REGION_RE, { message: 'region must be lowercase letters, digits and dashes' }) region?: string;
  @ApiPropertyOptional() @IsOptional() @IsObject() @ValidateNested() @Type(() => QuotasDto) quotas?: QuotasDto;
  @ApiPropertyOptional(FREE_FORM_DOC) @IsOptional() @IsFreeFormObject() metadata?: Record<string, unknown>;
}

export class ListTenantsQuery extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsIn(['active', 'suspended', 'deleted']) status?: string;
  @ApiPropertyOptional() @IsOptional() @IsIn(PLANS) plan?: string;
}

export class SuspendTenantDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) @IsPlainText() reason?: string;
}
