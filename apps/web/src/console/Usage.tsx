import type { UsageTotals, UsageView } from '@chat/contracts';
import { BarChart, bytes } from './Chart';
import { get } from './api';
import { useLoad } from './hooks';

/** The last `months` periods, oldest first (UTC YYYY-MM). */
function lastPeriods(months: number, now = new Date()): string[] {
  const out: string[] = [];
  for (let i = months - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}

/** A tenant's metered usage over time (GET /admin/billing/usage): this month by day, the last six months by month. */
export function UsageCharts({ tenantId }: { tenantId: string }) {
  const periods = lastPeriods(6);
  const months = useLoad(() => Promise.all(periods.map((period) => get<UsageView>('/admin/billing/usage', { tenant_id: tenantId, period }))), [tenantId]);
  if (months.error) return <p class="error">{months.error}</p>;
  if (!months.data) return <p class="muted">Loading usage…</p>;
  const current = months.data[months.data.length - 1]!;
  const byDay = (k: keyof UsageView['days'][number]) => current.days.map((d) => ({ label: d.day.slice(5), value: Number(d[k]) }));
  const byMonth = (k: keyof UsageTotals) => months.data!.map((m) => ({ label: m.period, value: m.totals[k] }));
  return (
    <>
      <p class="muted">Usage rolled up {current.as_of ? `as of ${new Date(current.as_of).toLocaleString()}` : '(no roll-up yet)'}.</p>
      <div class="charts" data-testid="usage-charts">
        <BarChart title={`Messages per day (${current.period})`} points={byDay('messages_sent')} />
        <BarChart title="Peak connections per day" points={byDay('peak_connections')} />
        <BarChart title="Storage per day" points={byDay('storage_bytes')} format={bytes} />
        <BarChart title="API calls per day" points={byDay('api_calls')} />
        <BarChart title="Messages per month" points={byMonth('messages_sent')} />
        <BarChart title="Active users per month" points={byMonth('active_users')} />
      </div>
    </>
  );
}
