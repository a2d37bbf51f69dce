import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminAuth } from '@chat/auth';
import { ApplicationService, toApplicationView, toPage } from '@chat/platform';
import { Audited } from '../common/audited';
import { DEFAULT_LIMIT, PageQueryDto } from '../common/pagination.dto';
import { CreateApplicationDto, RotateDto, UpdateApplicationDto } from './applications.dto';
import { ApiView } from '@chat/api-docs';

/** A tenant's applications; each has its own secret for signing end-user tokens. */
@ApiTags('admin: applications')
@Controller('admin')
export class ApplicationsController {
  constructor(private readonly applications: ApplicationService) {}

  @Post('tenants/:id/applications')
  @AdminAuth('owner')
  @Audited('application.create', 'application', 'info', 'response')
  @ApiOperation({ summary: 'Create an application; the response holds its signing secret, shown this once' })
  @ApiView('ApplicationWithSecretView', { status: 201, description: 'created; `secret` is shown only now' })
  async create(@Param('id') tenantId: string, @Body() body: CreateApplicationDto) {
    const { application, secret } = await this.applications.create(tenantId, body);
    return { ...toApplicationView(application), secret };
  }

  @Get('tenants/:id/applications')
  @AdminAuth()
  @ApiOperation({ summary: "List a tenant's applications" })
  @ApiView.page('ApplicationView')
  async list(@Param('id') tenantId: string, @Query() q: PageQueryDto) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    return toPage(await this.applications.list(tenantId, q.cursor, limit + 1), limit, toApplicationView);
  }

  @Get('applications/:id')
  @AdminAuth()
  @ApiOperation({ summary: 'Show an application (never its secret)' })
  @ApiView('ApplicationView')
  async get(@Param('id') id: string) {
    return toApplicationView(await this.applications.get(id));
  }

  @Patch('applications/:id')
  @AdminAuth('owner')
  @Audited('application.update', 'application')
  @ApiOperation({ summary: 'Rename an application or change its settings' })
  @ApiView('ApplicationView')
  async update(@Param('id') id: string, @Body() body: UpdateApplicationDto) {
    return toApplicationView(await this.applications.update(id, body));
  }

  @Post('applications/:id/rotate-secret')
  @HttpCode(200)
  @AdminAuth('owner')
  @Audited('application.rotate_secret', 'application', 'warning')
  @ApiOperation({ summary: 'New signing secret (shown once); tokens signed with the old one work for grace_seconds' })
  @ApiView('ApplicationWithSecretView', { description: 'the new secret, shown only now' })
  async rotate(@Param('id') id: string, @Body() body: RotateDto) {
    const { application, secret } = await this.applications.rotateSecret(id, body.grace_seconds);
    return { ...toApplicationView(application), secret };
  }

  @Delete('applications/:id')
  @AdminAuth('owner')
  @Audited('application.delete', 'application', 'critical')
  @ApiOperation({ summary: 'Delete an application: its keys are revoked and its tokens refused at once' })
  @ApiView('ApplicationView')
  async remove(@Param('id') id: string) {
    return toApplicationView(await this.applications.delete(id));
  }
}
