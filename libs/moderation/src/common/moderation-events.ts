import { Injectable, Logger, Optional } from '@nestjs/common';
import { AuditService, AuditSeverity } from '@chat/audit';
import { AppError, ErrorCode } from '@chat/errors';
import { ChatEventBus } from '@chat/chat';
import { Clock } from '@chat/clock';
import { eventTrace, EventTrace } from '@chat/database';
import { TenantContext } from '@chat/tenancy';
import { actorRef, auditActor, ModerationActor } from './moderation-actor';

export interface ModerationRecord {
  /** The `moderation.*` webhook event type, also the audit action. */
  type: string;
  actor: ModerationActor;
  resource: { type: 'user' | 'conversation' | 'message'; id: string };
  /** Ids and metadata only (never message content): the webhook event's data and the audit details. */
  data: Record<string, unknown>;
  severity?: AuditSeverity;
}

/**
 * The trail every moderation action leaves, written the same way for all of them: an audit entry
 * (awaited, so it is queryable when the action answers) and a `moderation.*` webhook event through the
 * chat event bus, which the webhook outbox records (libs/webhooks ChatEventRelay). Actions whose write
 * can carry it build the event first (`trace`) and store it with the change (EventTrace), so the webhook
 * sweeper recovers it after a crash; `record` then raises that same event.
 */
@Injectable()
export class ModerationTrail {
  private readonly logger = new Logger('Moderation');

  constructor(
    private readonly audit: AuditService,
    private readonly clock: Clock,
    // Absent where no chat core runs (admin app alone): the audit entry is still written.
    @Optional() private readonly bus?: ChatEventBus,
  ) {}

  /**
   * Runs a moderation action; a refusal for lack of rights (403) is audited too (`success: false`), so
   * attempts by members who are not moderators leave a trace. Not-found answers are not (ids guessed
   * at would only add noise, and they reveal nothing).
   */
  async attempt<T>(type: string, actor: ModerationActor, resource: ModerationRecord['resource'], fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.Forbidden) {
        await this.audit.record({
          action: type,
          actor: auditActor(actor),
          resource,
          tenantId: TenantContext.current()?.tenantId ?? null,
          success: false,
          severity: 'warning',
          details: { code: err.code, message: (err.getResponse() as { error: { message: string } }).error.message },
        });
      }
      throw err;
    }
  }

  /** The action's webhook event (data: ids and metadata, the actor and the time), to write with the change. */
  trace(r: Pick<ModerationRecord, 'type' | 'actor' | 'data'>): EventTrace {
    const at = new Date(this.clock.now());
    return eventTrace(r.type, { ...r.data, by: actorRef(r.actor), at: at.toISOString() }, at);
  }

  /** The audit entry and the webhook event; `trace`: the event as written with the change (else a new one). */
  async record(r: ModerationRecord, trace: EventTrace = this.trace(r)): Promise<void> {
    const tenantId = TenantContext.requireTenantId('moderation');
    const data = trace.data;
    await this.audit.record({
      action: r.type,
      actor: auditActor(r.actor),
      resource: r.resource,
      tenantId,
      success: true,
      severity: r.severity ?? 'info',
      details: data,
    });
    if (!this.bus) {
      this.logger.warn(`no chat event bus in this process: ${r.type} has no webhook event`);
      return;
    }
    this.bus.emit('moderation.action', { tenantId, type: trace.type, key: trace.key, occurred_at: new Date(trace.at).toISOString(), data });
  }
}
