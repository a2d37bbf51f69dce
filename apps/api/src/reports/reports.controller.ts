import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiForbiddenResponse, ApiNotFoundResponse, ApiOperation, ApiParam, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { ApiView } from '@chat/api-docs';
import { ApiKeyAuth, ApiKeyPrincipal, Principal, UserAuth, UserPrincipal } from '@chat/auth';
import {
  ActOnReportDto,
  CreateReportDto,
  ReceiptReportView,
  ReportQueryDto,
  ReportsService,
  ReportView,
  ResolveReportDto,
  toReceiptReportView,
  toReportView,
} from '@chat/reports';

const DEFAULT_LIMIT = 20;

/** A member reports a message of a conversation it is in (end-user token; E2EChat.report builds the body). */
@ApiTags('moderation')
@Controller('v1/conversations/:id/messages/:message_id/reports')
@UserAuth()
@ApiParam({ name: 'id', description: 'conversation id' })
export class ReportMessageController {
  constructor(private readonly reports: ReportsService) {}

  @Post()
  @ApiOperation({ summary: "Report a message with its decrypted payload and franking key; checked against the message's franking commitment" })
  @ApiView('ReportReceiptView', { status: 201, description: 'stored in the moderation queue (verified: false when the message had no commitment)' })
  @ApiBadRequestResponse({ description: 'validation_failed (e.g. your own message)' })
  @ApiNotFoundResponse({ description: 'not a member, or no such message' })
  @ApiConflictResponse({ description: 'already reported by you, or the message was deleted' })
  @ApiUnprocessableEntityResponse({ description: 'franking_mismatch: the payload and key do not open the commitment (nothing stored)' })
  async create(@Principal() p: UserPrincipal, @Param('id') id: string, @Param('message_id') messageId: string, @Body() dto: CreateReportDto): Promise<ReceiptReportView> {
    return toReceiptReportView(await this.reports.create(p.userId, id, messageId, dto));
  }
}

const actorOf = (p: ApiKeyPrincipal) => ({ type: 'api_key' as const, id: p.keyId });

/** The tenant's moderation queue for the SaaS client's server (API key, scopes moderation:read / moderation:write). */
@ApiTags('moderation')
@Controller('v1/moderation/reports')
export class ModerationReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get()
  @ApiKeyAuth('moderation:read')
  @ApiOperation({ summary: 'The moderation queue, newest first (filters: status, conversation_id)' })
  @ApiView.page('ReportView')
  @ApiBadRequestResponse({ description: 'validation_failed' })
  @ApiForbiddenResponse({ description: 'the key lacks moderation:read' })
  async list(@Query() q: ReportQueryDto): Promise<{ data: ReportView[]; next_cursor: string | null }> {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.reports.list({ status: q.status, conversation_id: q.conversation_id, cursor: q.cursor, limit });
    const page = rows.slice(0, limit);
    return { data: page.map(toReportView), next_cursor: rows.length > limit ? page[page.length - 1]!._id.toHexString() : null };
  }

  @Get(':report_id')
  @ApiKeyAuth('moderation:read')
  @ApiOperation({ summary: 'One report, with the reported payload and whether it verified' })
  @ApiView('ReportView')
  @ApiNotFoundResponse({ description: 'no such report in this tenant' })
  async get(@Param('report_id') id: string): Promise<ReportView> {
    return toReportView(await this.reports.get(id));
  }

  @Post(':report_id/resolve')
  @HttpCode(200)
  @ApiKeyAuth('moderation:write')
  @ApiOperation({ summary: 'Dismiss: close the report with no action (audited)' })
  @ApiView('ReportView')
  @ApiNotFoundResponse({ description: 'no such report in this tenant' })
  @ApiConflictResponse({ description: 'already resolved' })
  async resolve(@Principal() p: ApiKeyPrincipal, @Param('report_id') id: string, @Body() dto: ResolveReportDto): Promise<ReportView> {
    return toReportView(await this.reports.resolve(actorOf(p), id, dto.note));
  }

  @Post(':report_id/act')
  @HttpCode(200)
  @ApiKeyAuth('moderation:write')
  @ApiOperation({ summary: 'Act: delete the message and/or ban its sender, then close the report as actioned (audited)' })
  @ApiView('ReportView')
  @ApiNotFoundResponse({ description: 'no such report in this tenant' })
  @ApiConflictResponse({ description: 'already resolved' })
  @ApiUnprocessableEntityResponse({ description: 'action_unavailable: ban_user without tenant bans on this server' })
  async act(@Principal() p: ApiKeyPrincipal, @Param('report_id') id: string, @Body() dto: ActOnReportDto): Promise<ReportView> {
    return toReportView(await this.reports.act(actorOf(p), id, dto));
  }
}
