import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuditService } from '@chat/audit';
import { AdminAuth, Principal } from '@chat/auth';
import { BillingService, invoiceToCsv, invoiceView } from '@chat/billing';
import { UsageRollupService, UsageService } from '@chat/usage';
import { DownloadQueryDto, GenerateInvoicesDto, InvoiceIdParamDto, ListInvoicesQueryDto, PlanCodeParamDto, SavePlanDto, UsageAdminQueryDto } from './billing.dto';
import { ApiView } from '@chat/api-docs';

/** Usage, price lists and invoices for platform admins. */
@ApiTags('admin: billing')
@Controller('admin/billing')
export class BillingAdminController {
  constructor(
    private readonly billing: BillingService,
    private readonly usage: UsageService,
    private readonly rollup: UsageRollupService,
    private readonly audit: AuditService,
  ) {}

  private actor(p: Principal) {
    return p.kind === 'admin' ? { type: 'admin' as const, id: p.adminId } : { type: 'anonymous' as const, id: null };
  }

  @Get('plans')
  @AdminAuth()
  @ApiOperation({ summary: 'Price lists (included amounts, overage prices in cents)' })
  @ApiView.list('BillingPlan')
  async plans() {
    return { data: await this.billing.plans() };
  }

  @Put('plans/:code')
  @AdminAuth('owner')
  @ApiOperation({ summary: 'Create or change a price list (applies to invoices issued afterwards)' })
  @ApiView('BillingPlan', { description: 'the saved plan' })
  async savePlan(@Param() { code }: PlanCodeParamDto, @Body() body: SavePlanDto, @Principal() p: Principal, @Req() req: Request) {
    const plan = await this.billing.savePlan({ code, ...body });
    await this.audit.record({ action: 'billing.plan.save', actor: this.actor(p), resource: { type: 'billing_plan', id: code }, ip: req.ip ?? null, success: true, severity: 'warning' });
    return plan;
  }

  @Get('usage')
  @AdminAuth()
  @ApiOperation({ summary: "A tenant's usage for a month: totals and days" })
  @ApiView('UsageView')
  async tenantUsage(@Query() q: UsageAdminQueryDto) {
    return this.usage.usage(q.tenant_id, q.period);
  }

  @Post('usage/rollup')
  @HttpCode(200)
  @AdminAuth('owner')
  @ApiOperation({ summary: 'Roll usage events up now (the job also runs on its interval)' })
  @ApiView('RollupReportView')
  async runRollup() {
    return this.rollup.rollup();
  }

  @Post('invoices')
  @HttpCode(200)
  @AdminAuth('owner')
  @ApiOperation({ summary: 'Issue the invoices of a closed month (idempotent: existing invoices are kept as they are)' })
  @ApiView('InvoiceRunView')
  async generate(@Body() body: GenerateInvoicesDto, @Principal() p: Principal, @Req() req: Request) {
    const r = await this.billing.generate(body.period, { tenantId: body.tenant_id });
    await this.audit.record({
      action: 'billing.invoices.generate',
      actor: this.actor(p),
      resource: { type: 'billing_period', id: body.period },
      tenantId: body.tenant_id ?? null,
      ip: req.ip ?? null,
      success: true,
      details: { created: r.created.length, existing: r.existing.length },
    });
    return r;
  }

  @Get('invoices')
  @AdminAuth()
  @ApiOperation({ summary: 'List invoices (cursor pages)' })
  @ApiView.page('InvoiceView')
  async list(@Query() q: ListInvoicesQueryDto) {
    const page = await this.billing.invoices(q);
    return { data: page.data.map(invoiceView), next_cursor: page.next_cursor };
  }

  @Get('invoices/:id')
  @AdminAuth()
  @ApiOperation({ summary: 'One invoice as JSON, or ?format=csv for the CSV download' })
  @ApiView.schema({ $ref: '#/components/schemas/InvoiceView' }, { description: 'the invoice (text/csv with format=csv)' })
  async get(@Param() { id }: InvoiceIdParamDto, @Query() q: DownloadQueryDto, @Res({ passthrough: true }) res: Response) {
    const inv = await this.billing.invoice(id);
    if (q.format === 'csv') {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="${inv._id}.csv"`);
      return invoiceToCsv(inv);
    }
    return invoiceView(inv);
  }
}
