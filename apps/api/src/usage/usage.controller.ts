import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import { ApiKeyAuth, Principal } from '@chat/auth';
import { AppError } from '@chat/errors';
import { UsageService } from '@chat/usage';
import { ApiView } from '@chat/api-docs';

export class TenantUsageQueryDto {
  @ApiProperty({ example: '2026-11', description: 'month (UTC)' }) @Matches(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'period must be YYYY-MM' }) period!: string;
}

/** A SaaS client reads its own usage (the tenant comes from the API key, never from the request). */
@ApiTags('usage')
@Controller('v1/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @ApiKeyAuth('usage:read')
  @ApiOperation({ summary: 'Usage of the calling tenant for a month: totals (messages, MAU, peak connections, storage, API calls) and days' })
  @ApiView('UsageView')
  async get(@Query() q: TenantUsageQueryDto, @Principal() p: Principal) {
    if (p.kind !== 'api_key') throw AppError.forbidden();
    return this.usage.usage(p.tenantId, q.period);
  }
}
