import { Injectable } from '@nestjs/common';
import { AppError } from '@chat/errors';
import type { UsageTotals, UsageView } from '@chat/contracts';
import { UsageRepository } from './usage.repository';
import type { AggregationDoc } from './usage.schemas';

const PERIOD_RE = /^\d{4}-(0[1-9]|1[0-2])$/;

export function assertPeriod(period: string): void {
  if (!PERIOD_RE.test(period)) throw AppError.validation([{ field: 'period', problems: ['period must be YYYY-MM'] }]);
}

function totalsOf(d: AggregationDoc | null): UsageTotals {
  return {
    messages_sent: d?.messages_sent ?? 0,
    active_users: d?.active_users ?? 0,
    peak_connections: d?.peak_connections ?? 0,
    storage_bytes: d?.storage_bytes ?? 0,
    api_calls: d?.api_calls ?? 0,
  };
}

/** Reads rolled-up usage of one tenant (the caller decides which tenant: the principal's, or an admin's choice). */
@Injectable()
export class UsageService {
  constructor(private readonly repo: UsageRepository) {}

  async usage(tenantId: string, period: string): Promise<UsageView> {
    assertPeriod(period);
    const [month, days, asOf] = await Promise.all([this.repo.month(tenantId, period), this.repo.days(tenantId, period), this.repo.watermarkTime()]);
    return {
      tenant_id: tenantId,
      period,
      totals: totalsOf(month),
      days: days.map((d) => {
        const { active_users: _a, ...rest } = totalsOf(d);
        return { day: d.day!, ...rest };
      }),
      as_of: asOf?.toISOString() ?? null,
    };
  }

  tenantsWithUsage(period: string): Promise<string[]> {
    return this.repo.tenantsWithUsage(period);
  }

  async totals(tenantId: string, period: string): Promise<UsageTotals> {
    return totalsOf(await this.repo.month(tenantId, period));
  }
}
