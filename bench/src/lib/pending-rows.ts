/** What the webhook_pending benches share (webhook-parked-cost, webhook-parked-buckets): a process's CPU, medians, and a pending row. */
import { readFileSync } from 'node:fs';

/** CPU ms (user + system) the process used so far, from /proc. */
export function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** A dead endpoint (its rows wait) and a healthy one (its free due rows are what the scans are for). */
export const DEAD = '656f00000000000000000001';
export const HEALTHY = '656f00000000000000000002';

/** A pending row of `endpointId` as the outbox writes it (a failed first attempt), with `fields` (lease, parking, window) on top. */
export function pendingRow(i: number, endpointId: string, now: number, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    _id: `evt_${String(i).padStart(32, '0')}:${endpointId}`,
    tenant_id: 'tenant', application_id: 'app', endpoint_id: endpointId, event_id: `evt_${i}`, type: 'message.new',
    payload: { id: `evt_${i}`, type: 'message.new', created_at: new Date(now).toISOString(), tenant_id: 'tenant', data: { message_id: `m${i}`, conversation_id: 'c1', sender_id: 'u1', seq: i, type: 'text', created_at: new Date(now).toISOString() } },
    status: 'pending', attempts: 1, retry_until: new Date(now + 86_400_000),
    last_status_code: 500, last_error: null, delivered_at: null, created_at: new Date(now), updated_at: new Date(now),
    ...fields,
  };
}
