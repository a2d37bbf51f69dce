import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AuditService } from '@chat/audit';
import { MessagesService } from '@chat/chat';
import { AppError, ErrorCode } from '@chat/errors';
import { TenantContext, TenantId } from '@chat/tenancy';
import { reportCreatedData, reportResolvedData, WebhookOutbox } from '@chat/webhooks';
// The SDK's own check (one implementation of the commitment for clients and server); pure @noble code.
import { verifyFrankingCommitment } from '../../sdk/src/crypto/franking';
import { ActOnReportDto, CreateReportDto } from './report.dto';
import type { ReportAction, ReportStatus } from '@chat/contracts';
import { ReportActor, ReportRecord, ReportStatusFilter } from './report.schema';
import { ReportsRepository } from './reports.repository';

/** The tenant-wide ban a report's `ban_user` action calls (libs/moderation's userBanPort; absent: the action is refused). */
export interface UserBanPort {
  ban(userId: string, opts: { reason: string | null; expiresAt: Date | null; by: ReportActor }): Promise<void>;
}
export const REPORTS_USER_BANS = Symbol('REPORTS_USER_BANS');

export const REPORT_CREATED_EVENT = 'moderation.report.created';
export const REPORT_RESOLVED_EVENT = 'moderation.report.resolved';

/**
 * Reports of messages and the tenant's moderation queue (docs/moderation.md). A report is checked on
 * receipt against the franking commitment the message was stored with: a payload or key that does not
 * open it is refused (422 franking_mismatch) and nothing is stored; a message sent without a
 * commitment can still be reported, and the report is stored with `verified: false` (unverifiable).
 */
@Injectable()
export class ReportsService {
  private readonly logger = new Logger('Reports');

  constructor(
    private readonly repo: ReportsRepository,
    private readonly messages: MessagesService,
    private readonly audit: AuditService,
    // Absent where webhooks are not loaded (unit wiring): reports still work, no events.
    @Optional() private readonly outbox?: WebhookOutbox,
    @Optional() @Inject(REPORTS_USER_BANS) private readonly bans?: UserBanPort,
  ) {}

  private tenant(): TenantId {
    return TenantContext.requireTenantId('reports');
  }

  // ---------------------------------------------------------------- reporting (members)

  async create(reporterId: string, conversationId: string, messageId: string, dto: CreateReportDto): Promise<ReportRecord> {
    const tenantId = this.tenant();
    // Membership and visibility as for reading it: a message the reporter cannot see is a 404.
    const message = await this.messages.get(reporterId, conversationId, messageId);
    if (!message.content || message.deleted_at) throw AppError.conflict('The message was deleted');
    if (message.sender_id === reporterId) throw AppError.validation([{ field: 'message_id', problems: ['you cannot report your own message'] }]);
    const commitment = message.content.franking_commitment ?? null;
    let verified = false;
    if (commitment !== null) {
      verified =
        dto.franking_key !== undefined &&
        verifyFrankingCommitment({
          frankingKey: dto.franking_key,
          payloadBytes: new TextEncoder().encode(dto.payload),
          context: { tenantId, conversationId, senderId: message.sender_id, senderDeviceId: message.content.sender_device_id },
          commitment,
        });
      if (!verified) {
        await this.audit.record({
          action: 'moderation.report.reject',
          actor: { type: 'user', id: reporterId },
          resource: { type: 'message', id: message.id },
          tenantId,
          success: false,
          details: { conversation_id: conversationId, reason: 'franking_mismatch' },
        });
        throw new AppError(ErrorCode.FrankingMismatch, "The reported payload and franking key do not open the message's franking commitment");
      }
    }
    const now = new Date();
    const report = await this.repo.create({
      conversation_id: conversationId,
      message_id: message.id,
      message_seq: message.seq,
      sender_id: message.sender_id,
      sender_device_id: message.content.sender_device_id,
      reporter_id: reporterId,
      reason: dto.reason,
      note: dto.note ?? null,
      payload: dto.payload,
      // Only worth keeping when it opens something: it lets anyone re-check `verified` later.
      franking_key: verified ? dto.franking_key! : null,
      commitment,
      verified,
      status: 'open',
      resolution: null,
      created_at: now,
      updated_at: now,
    });
    if (!report) throw AppError.conflict('You already reported this message');
    const id = report._id.toHexString();
    await this.audit.record({
      action: 'moderation.report.create',
      actor: { type: 'user', id: reporterId },
      resource: { type: 'message_report', id },
      tenantId,
      success: true,
      details: { conversation_id: conversationId, message_id: message.id, reason: dto.reason, verified },
    });
    await this.emit(tenantId, REPORT_CREATED_EVENT, id, now, reportCreatedData(report));
    return report;
  }

  // ---------------------------------------------------------------- the queue (API key, admin)

  list(q: { status?: ReportStatusFilter; conversation_id?: string; cursor?: string; limit: number }): Promise<ReportRecord[]> {
    this.tenant();
    return this.repo.list(q);
  }

  async get(id: string): Promise<ReportRecord> {
    const r = await this.repo.get(id);
    if (!r) throw AppError.notFound('Report');
    return r;
  }

  /** Closes the report with no action (dismissed). */
  resolve(actor: ReportActor, id: string, note?: string): Promise<ReportRecord> {
    return this.close(actor, id, 'dismissed', [], note ?? null, 'moderation.report.resolve');
  }

  /**
   * Acts on the report: deletes the message through the chat delete path (tombstone, message.deleted
   * event), bans its sender tenant-wide, then closes the report as actioned. Every action is audited.
   */
  async act(actor: ReportActor, id: string, dto: ActOnReportDto): Promise<ReportRecord> {
    const tenantId = this.tenant();
    const report = await this.get(id);
    if (report.status !== 'open') throw AppError.conflict(`The report is already ${report.status}`);
    // Checked before anything is done, so a refused action leaves no half-done work behind.
    if (dto.actions.includes('ban_user') && !this.bans) {
      throw new AppError(ErrorCode.ActionUnavailable, 'ban_user is not available on this server: tenant bans are not installed', { action: 'ban_user' });
    }
    if (dto.actions.includes('delete_message')) {
      const ok = await this.messages.removeByModerator(report.conversation_id, report.message_id).then(
        () => true,
        (err: unknown) => {
          // The message (or its conversation) is already gone: nothing left to delete.
          if (err instanceof AppError && err.code === ErrorCode.NotFound) return false;
          throw err;
        },
      );
      await this.audit.record({
        action: 'moderation.message.delete',
        actor: actor,
        resource: { type: 'message', id: report.message_id },
        tenantId,
        success: true,
        details: { report_id: id, conversation_id: report.conversation_id, already_gone: !ok },
      });
    }
    if (dto.actions.includes('ban_user')) {
      const expiresAt = dto.ban?.expires_at ? new Date(dto.ban.expires_at) : null;
      await this.bans!.ban(report.sender_id, { reason: dto.ban?.reason ?? dto.note ?? null, expiresAt, by: actor });
      await this.audit.record({
        action: 'moderation.user.ban',
        actor,
        resource: { type: 'user', id: report.sender_id },
        tenantId,
        success: true,
        details: { report_id: id, expires_at: expiresAt?.toISOString() ?? null },
      });
    }
    return this.close(actor, id, 'actioned', dto.actions, dto.note ?? null, 'moderation.report.act');
  }

  private async close(actor: ReportActor, id: string, status: ReportStatus, actions: ReportAction[], note: string | null, action: string): Promise<ReportRecord> {
    const tenantId = this.tenant();
    const now = new Date();
    const closed = await this.repo.resolve(id, { status, resolution: { by: actor, at: now, note, actions }, updated_at: now });
    if (!closed) {
      const current = await this.get(id); // 404 when it does not exist (or belongs to another tenant)
      await this.audit.record({ action, actor, resource: { type: 'message_report', id }, tenantId, success: false, details: { code: 'conflict', status: current.status } });
      throw AppError.conflict(`The report is already ${current.status}`);
    }
    await this.audit.record({ action, actor, resource: { type: 'message_report', id }, tenantId, success: true, details: { status, actions, message_id: closed.message_id } });
    await this.emit(tenantId, REPORT_RESOLVED_EVENT, id, now, reportResolvedData(closed));
    return closed;
  }

  /**
   * Records the webhook event (ids and metadata only: never the payload) before the request is answered.
   * The key is the report id, the same the webhook sweeper derives from the stored report (created_at,
   * resolution.at) when a node died before this ran: one event, one row.
   */
  private async emit(tenantId: string, type: string, reportId: string, at: Date, data: Record<string, unknown>): Promise<void> {
    if (!this.outbox) return;
    try {
      await this.outbox.record({ tenantId, type, key: reportId, occurredAt: at, data });
    } catch (err) {
      this.logger.error(`could not record webhook event ${type}: ${(err as Error).message}`);
    }
  }
}
