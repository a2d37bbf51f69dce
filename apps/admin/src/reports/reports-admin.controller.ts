import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOperation, ApiParam, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { ApiView } from '@chat/api-docs';
import { AdminAuth, AdminPrincipal, Principal } from '@chat/auth';
import { AppError } from '@chat/errors';
import { ActOnReportDto, ReportQueryDto, ReportsService, ReportView, ResolveReportDto, toReportView } from '@chat/reports';
import { isTenantId, TenantContext } from '@chat/tenancy';
import { DEFAULT_LIMIT } from '../common/pagination.dto';

/** Runs fn as the tenant of the route (platform admins act across tenants); a malformed id is a 404 like an unknown one. */
function asTenant<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
  if (!isTenantId(tenantId)) return Promise.reject(AppError.notFound('Tenant'));
  return TenantContext.runAs(tenantId, fn);
}
const actorOf = (p: AdminPrincipal) => ({ type: 'admin' as const, id: p.adminId });

/**
 * A tenant's moderation queue for platform admins (docs/moderation.md): any admin reads; only owners
 * resolve and act, as for every other admin write (a support admin must not ban through `act` what it
 * cannot ban through the ban route). Writes are audited by the service, refusals by the guard.
 */
@ApiTags('admin: moderation')
@Controller('admin/tenants/:tenant_id/moderation/reports')
@ApiParam({ name: 'tenant_id', description: 'tenant id' })
export class ReportsAdminController {
  constructor(private readonly reports: ReportsService) {}

  @Get()
  @AdminAuth()
  @ApiOperation({ summary: "A tenant's reports, newest first (filters: status, conversation_id)" })
  @ApiView.page('ReportView')
  @ApiBadRequestResponse({ description: 'validation_failed' })
  list(@Param('tenant_id') tenantId: string, @Query() q: ReportQueryDto): Promise<{ data: ReportView[]; next_cursor: string | null }> {
    return asTenant(tenantId, async () => {
      const limit = q.limit ?? DEFAULT_LIMIT;
      const rows = await this.reports.list({ status: q.status, conversation_id: q.conversation_id, cursor: q.cursor, limit });
      const page = rows.slice(0, limit);
      return { data: page.map(toReportView), next_cursor: rows.length > limit ? page[page.length - 1]!._id.toHexString() : null };
    });
  }

  @Get(':report_id')
  @AdminAuth()
  @ApiOperation({ summary: 'One report' })
  @ApiView('ReportView')
  @ApiNotFoundResponse({ description: 'no such report in this tenant' })
  get(@Param('tenant_id') tenantId: string, @Param('report_id') id: string): Promise<ReportView> {
    return asTenant(tenantId, async () => toReportView(await this.reports.get(id)));
  }

  @Post(':report_id/resolve')
  @HttpCode(200)
  @AdminAuth('owner')
  @ApiOperation({ summary: 'Dismiss the report (audited)' })
  @ApiView('ReportView')
  @ApiNotFoundResponse({ description: 'no such report in this tenant' })
  @ApiConflictResponse({ description: 'already resolved' })
  resolve(@Principal() p: AdminPrincipal, @Param('tenant_id') tenantId: string, @Param('report_id') id: string, @Body() dto: ResolveReportDto): Promise<ReportView> {
    return asTenant(tenantId, async () => toReportView(await this.reports.resolve(actorOf(p), id, dto.note)));
  }

  @Post(':report_id/act')
  @HttpCode(200)
  @AdminAuth('owner')
  @ApiOperation({ summary: 'Delete the message and/or ban its sender, closing the report as actioned (audited)' })
  @ApiView('ReportView')
  @ApiNotFoundResponse({ description: 'no such report in this tenant' })
  @ApiConflictResponse({ description: 'already resolved' })
  @ApiUnprocessableEntityResponse({ description: 'action_unavailable: ban_user without tenant bans on this server' })
  act(@Principal() p: AdminPrincipal, @Param('tenant_id') tenantId: string, @Param('report_id') id: string, @Body() dto: ActOnReportDto): Promise<ReportView> {
    return asTenant(tenantId, async () => toReportView(await this.reports.act(actorOf(p), id, dto)));
  }
}
