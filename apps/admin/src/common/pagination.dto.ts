import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

export class PageQueryDto {
  /** The `next_cursor` of the previous page. */
  @ApiPropertyOptional() @IsOptional() @Matches(/^[0-9a-f]{24}$/, { message: 'cursor must be a next_cursor value' }) cursor?: string;
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit?: number;
}

export const DEFAULT_LIMIT = 20;
