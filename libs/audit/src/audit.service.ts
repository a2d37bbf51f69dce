import { Injectable, Logger } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Types } from 'mongoose';
import type { Model } from 'mongoose';
import type { AuditLogView } from '@chat/contracts';
import { TenantContext } from '@chat/tenancy';
import { AUDIT_LOG_MODEL, AuditActorType, AuditLogDoc, AuditSeverity } from './audit-log.schema';

export interface AuditEntry {
  action: string;
  actor?: { type: AuditActorType; id?: string | null; email?: string | null };
  resource?: { type?: string | null; id?: string | null };
  tenantId?: string | null;
  ip?: string | null;
  success: boolean;
  severity?: AuditSeverity;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  tenant_id?: string;
  action?: string;
  actor_id?: string;
  resource_type?: string;
  resource_id?: string;
  success?: boolean;
  severity?: AuditSeverity;
  from?: Date;
  to?: Date;
  cursor?: string;
  limit: number;
}

export function toAuditLogView(d: AuditLogDoc): AuditLogView {
  return {
    id: d._id.toHexString(),
    at: new Date(d.at).toISOString(),
    actor: { type: d.actor?.type ?? 'system', id: d.actor?.id ?? null, email: d.actor?.email ?? null },
    action: d.action,
    resource: { type: d.resource?.type ?? null, id: d.resource?.id ?? null },
    tenant_id: d.tenant_id ?? null,
    ip: d.ip ?? null,
    success: d.success,
    severity: d.severity,
    details: d.details ?? null,
    request_id: d.request_id ?? null,
  };
}

/** The audit log (`audit_logs`): written by admin endpoints, auth guards and quotas; read by admins. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');
  private readonly throttled = new Map<string, number>();

  constructor(@InjectModel(AUDIT_LOG_MODEL) private readonly model: Model<AuditLogDoc>) {}

  /** Awaitable but never throws: a failing audit write is logged and must not fail the action. */
  async record(e: AuditEntry): Promise<void> {
    const ctx = TenantContext.current();
    const actor = e.actor ?? (ctx?.actor ? { type: ctx.actor.type, id: ctx.actor.id } : { type: 'anonymous' as const, id: null });
    try {
      await this.model.create({
        at: new Date(),
        actor: { type: actor.type, id: actor.id ?? null, email: actor.email ?? null },
        action: e.action,
        resource: { type: e.resource?.type ?? null, id: e.resource?.id ?? null },
        tenant_id: e.tenantId ?? ctx?.tenantId ?? null,
        ip: e.ip ?? null,
        success: e.success,
        severity: e.severity ?? (e.success ? 'info' : 'warning'),
        details: e.details ?? null,
        request_id: ctx?.requestId ?? null,
      });
    } catch (err) {
      this.logger.error(`audit write failed for ${e.action}: ${(err as Error).message}`);
    }
  }

  /**
   * For events a client can repeat in a loop (denied calls of a suspended tenant, missing scopes):
   * at most one entry per `key` per interval on this node.
   */
  async recordThrottled(key: string, e: AuditEntry, intervalMs = 60_000): Promise<void> {
    const now = Date.now();
    if ((this.throttled.get(key) ?? 0) > now - intervalMs) return;
    if (this.throttled.size > 10_000) this.throttled.clear();
    this.throttled.set(key, now);
    await this.record(e);
  }

  /** Newest first; `cursor` is the id of the last entry of the previous page. Fetches limit+1 to know whether there is more. */
  async query(q: AuditQuery): Promise<{ data: AuditLogView[]; next_cursor: string | null }> {
    const filter: Record<string, unknown> = {};
    if (q.tenant_id) filter.tenant_id = q.tenant_id;
    if (q.action) filter.action = q.action;
    if (q.actor_id) filter['actor.id'] = q.actor_id;
    if (q.resource_type) filter['resource.type'] = q.resource_type;
    if (q.resource_id) filter['resource.id'] = q.resource_id;
    if (q.success !== undefined) filter.success = q.success;
    if (q.severity) filter.severity = q.severity;
    if (q.from || q.to) filter.at = { ...(q.from ? { $gte: q.from } : {}), ...(q.to ? { $lt: q.to } : {}) };
    if (q.cursor && /^[0-9a-f]{24}$/i.test(q.cursor)) filter._id = { $lt: new Types.ObjectId(q.cursor) };
    const rows = (await this.model.find(filter).sort({ _id: -1 }).limit(q.limit + 1).lean().exec()) as AuditLogDoc[];
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    return { data: page.map(toAuditLogView), next_cursor: more ? page[page.length - 1]._id.toHexString() : null };
  }
}
