import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditService } from '@chat/audit';
import { AdminAuth, AdminTokenService, Principal } from '@chat/auth';
import { AppError } from '@chat/errors';
import { normalizeEmail, PlatformAdminService, toAdminView, toPage } from '@chat/platform';
import { QuotaService } from '@chat/quotas';
import { Audited } from '../common/audited';
import { clientIp } from '../common/client-ip';
import { DEFAULT_LIMIT, PageQueryDto } from '../common/pagination.dto';
import { CreateAdminDto, LoginDto, UpdateAdminDto } from './admin-auth.dto';
import { ApiView } from '@chat/api-docs';

@ApiTags('admin: auth')
@Controller('admin')
export class AdminAuthController {
  constructor(
    private readonly admins: PlatformAdminService,
    private readonly tokens: AdminTokenService,
    private readonly quotas: QuotaService,
    private readonly audit: AuditService,
  ) {}

  /** Failed attempts are counted per IP and per email (429 past ADMIN_LOGIN_MAX_FAILURES) and audited. */
  @Post('auth/login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in as a platform admin; returns a bearer token' })
  @ApiView('AdminLoginView')
  async login(@Body() body: LoginDto, @Req() req: Request) {
    const ip = clientIp(req);
    const email = normalizeEmail(body.email);
    try {
      await this.quotas.assertLoginAllowed(ip, email);
    } catch (err) {
      await this.audit.record({ action: 'admin.login', actor: { type: 'anonymous', id: null, email }, ip, success: false, severity: 'warning', details: { reason: 'rate_limited' } });
      throw err;
    }
    const admin = await this.admins.verifyCredentials(email, body.password);
    if (!admin) {
      await this.quotas.recordLoginFailure(ip, email);
      await this.audit.record({ action: 'admin.login', actor: { type: 'anonymous', id: null, email }, ip, success: false, severity: 'warning', details: { reason: 'invalid_credentials' } });
      throw AppError.unauthorized('Invalid email or password');
    }
    await this.quotas.clearLoginFailures(email);
    const id = admin._id.toHexString();
    await this.audit.record({ action: 'admin.login', actor: { type: 'admin', id, email }, resource: { type: 'admin', id }, ip, success: true });
    return { ...this.tokens.issue({ id, role: admin.role }), token_type: 'Bearer', admin: toAdminView(admin) };
  }

  @Get('auth/me')
  @AdminAuth()
  @ApiOperation({ summary: 'The logged-in admin' })
  @ApiView('AdminView')
  async me(@Principal() p: Principal) {
    return toAdminView(await this.admins.get(p.kind === 'admin' ? p.adminId : ''));
  }

  @Get('admins')
  @AdminAuth()
  @ApiOperation({ summary: 'List platform admins' })
  @ApiView.page('AdminView')
  async list(@Query() q: PageQueryDto) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    return toPage(await this.admins.list(q.cursor, limit + 1), limit, toAdminView);
  }

  @Post('admins')
  @AdminAuth('owner')
  @Audited('admin.create', 'admin', 'warning')
  @ApiOperation({ summary: 'Create a platform admin (owner only)' })
  @ApiView('AdminView', { status: 201 })
  async create(@Body() body: CreateAdminDto) {
    return toAdminView(await this.admins.create(body));
  }

  @Patch('admins/:id')
  @AdminAuth('owner')
  @Audited('admin.update', 'admin', 'warning')
  @ApiOperation({ summary: 'Change role, status or password of an admin (owner only)' })
  @ApiView('AdminView')
  async update(@Param('id') id: string, @Body() body: UpdateAdminDto, @Principal() p: Principal) {
    if (p.kind === 'admin' && p.adminId === id && (body.status === 'disabled' || body.role === 'support')) {
      throw AppError.conflict('An owner cannot disable or demote themself; ask another owner');
    }
    return toAdminView(await this.admins.update(id, body));
  }
}
