import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import { AuditService } from '@chat/audit';
import { AdminAuth } from '@chat/auth';
import { DEFAULT_LIMIT, PageQueryDto } from '../common/pagination.dto';
import { ApiView } from '@chat/api-docs';

export class AuditLogQuery extends PageQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) tenant_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) action?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) actor_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) resource_type?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) resource_id?: string;
  @ApiPropertyOptional() @IsOptional() @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value)) @IsBoolean() success?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsIn(['info', 'warning', 'critical']) severity?: 'info' | 'warning' | 'critical';
  /** ISO 8601, inclusive. */
  @ApiPropertyOptional() @IsOptional() @IsISO8601() from?: string;
  /** ISO 8601, exclusive. */
  @ApiPropertyOptional() @IsOptional() @IsISO8601() to?: string;
}

@ApiTags('admin: audit')
@Controller('admin/audit-logs')
export class AuditLogsController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @AdminAuth()
  @ApiOperation({ summary: 'Audit log, newest first, filtered, cursor-paginated' })
  @ApiView.page('AuditLogView', { description: 'audit records, newest first' })
  query(@Query() q: AuditLogQuery) {
    return this.audit.query({
      ...q,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      limit: q.limit ?? DEFAULT_LIMIT,
    });
  }
}
