import { createReadStream } from 'node:fs';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res, StreamableFile } from '@nestjs/common';
import type { Response } from 'express';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { AdminAuth } from '@chat/auth';
import { TenantService, toPage, toTenantView } from '@chat/platform';
import { QuotaService } from '@chat/quotas';
import { Audited } from '../common/audited';
import { DEFAULT_LIMIT } from '../common/pagination.dto';
import { CreateTenantDto, ListTenantsQuery, SuspendTenantDto, UpdateTenantDto } from './tenants.dto';
import { ApiView, TENANT_EXAMPLE } from '@chat/api-docs';

/** Tenants (the `clients` collection). Reads: any admin; writes: owners. */
@ApiTags('admin: tenants')
@Controller('admin/tenants')
export class TenantsController {
  constructor(
    private readonly tenants: TenantService,
    private readonly quotas: QuotaService,
  ) {}

  @Post()
  @AdminAuth('owner')
  @Audited('tenant.create', 'tenant')
  @ApiOperation({ summary: 'Create a tenant (SaaS client)' })
  @ApiView('TenantView', { status: 201, example: TENANT_EXAMPLE })
  async create(@Body() body: CreateTenantDto) {
    return toTenantView(await this.tenants.create(body));
  }

  @Get()
  @AdminAuth()
  @ApiOperation({ summary: 'List tenants, newest first (deleted ones only with status=deleted)' })
  @ApiView.page('TenantView')
  async list(@Query() q: ListTenantsQuery) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    return toPage(await this.tenants.list({ status: q.status, plan: q.plan, cursor: q.cursor, limit: limit + 1 }), limit, toTenantView);
  }

  @Get(':id')
  @AdminAuth()
  @ApiOperation({ summary: 'Show a tenant' })
  @ApiView('TenantView')
  async get(@Param('id') id: string) {
    return toTenantView(await this.tenants.get(id));
  }

  @Get(':id/usage')
  @AdminAuth()
  @ApiOperation({ summary: 'Live usage against the tenant quotas (connections now)' })
  @ApiView('TenantUsageView')
  async usage(@Param('id') id: string) {
    const t = toTenantView(await this.tenants.requireLive(id));
    return { tenant_id: t.id, quotas: t.quotas, usage: { concurrent_connections: await this.quotas.connectionCount(t.id) } };
  }

  @Patch(':id')
  @AdminAuth('owner')
  @Audited('tenant.update', 'tenant')
  @ApiOperation({ summary: 'Update name, plan, region, quotas or metadata' })
  @ApiView('TenantView')
  async update(@Param('id') id: string, @Body() body: UpdateTenantDto) {
    return toTenantView(await this.tenants.update(id, body));
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @AdminAuth('owner')
  @Audited('tenant.suspend', 'tenant', 'critical')
  @ApiOperation({ summary: 'Suspend: its keys and tokens get 403 at once, its sockets are dropped on every node' })
  @ApiView('TenantView')
  async suspend(@Param('id') id: string, @Body() body: SuspendTenantDto) {
    return toTenantView(await this.tenants.suspend(id, body.reason));
  }

  @Post(':id/reactivate')
  @HttpCode(200)
  @AdminAuth('owner')
  @Audited('tenant.reactivate', 'tenant', 'warning')
  @ApiOperation({ summary: 'Reactivate a suspended tenant' })
  @ApiView('TenantView')
  async reactivate(@Param('id') id: string) {
    return toTenantView(await this.tenants.reactivate(id));
  }

  @Post(':id/export')
  @HttpCode(200)
  @AdminAuth('owner')
  @Audited('tenant.export', 'tenant', 'warning')
  @ApiProduces('application/gzip')
  @ApiOperation({ summary: 'Export every document and file object of the tenant as a .tar.gz (restorable with `restore`); a delete needs one taken since the suspension' })
  @ApiView.file('application/gzip', { description: 'the tenant archive (.tar.gz)' })
  async export(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<StreamableFile> {
    const file = await this.tenants.export(id);
    const documents = file.manifest.databases.flatMap((d) => d.collections).reduce((n, c) => n + c.count, 0);
    res.setHeader('X-Export-Documents', String(documents));
    res.setHeader('X-Export-Objects', String(file.manifest.objects?.count ?? 0));
    const stream = createReadStream(file.path);
    // The temporary archive goes once it is sent, or the download is cut.
    stream.once('close', () => void file.cleanup());
    return new StreamableFile(stream, { type: 'application/gzip', disposition: `attachment; filename="${file.filename}"` });
  }

  @Delete(':id')
  @AdminAuth('owner')
  @Audited('tenant.delete', 'tenant', 'critical')
  @ApiOperation({ summary: 'Delete a suspended, exported tenant: keys revoked, applications deleted, all its data and file objects erased' })
  @ApiView('TenantView')
  async remove(@Param('id') id: string) {
    return toTenantView(await this.tenants.delete(id));
  }
}
