import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminAuth, Principal } from '@chat/auth';
import { Clock } from '@chat/clock';
import { ApiKeyService, toApiKeyView, toPage } from '@chat/platform';
import { RotateDto } from '../applications/applications.dto';
import { Audited } from '../common/audited';
import { DEFAULT_LIMIT, PageQueryDto } from '../common/pagination.dto';
import { CreateApiKeyDto } from './api-keys.dto';
import { ApiView } from '@chat/api-docs';

/** API keys per application: shown once in clear, stored hashed, rotated with a grace period, revoked at once. */
@ApiTags('admin: api keys')
@Controller('admin')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly clock: Clock,
  ) {}

  /** Status (expired or not) as of the app's clock. */
  private view(k: Parameters<typeof toApiKeyView>[0]) {
    return toApiKeyView(k, this.clock.now());
  }

  @Post('applications/:id/api-keys')
  @AdminAuth('owner')
  @Audited('api_key.create', 'api_key', 'warning', 'response')
  @ApiOperation({ summary: 'Create an API key; `key` in the response is the only time it is shown' })
  @ApiView('ApiKeyWithSecretView', { status: 201, description: 'created; `key` is shown only now' })
  async create(@Param('id') applicationId: string, @Body() body: CreateApiKeyDto, @Principal() p: Principal) {
    const { key, secret } = await this.keys.create(
      applicationId,
      { name: body.name, scopes: body.scopes, expires_at: body.expires_at ? new Date(body.expires_at) : null },
      p.kind === 'admin' ? p.adminId : undefined,
    );
    return { ...this.view(key), key: secret };
  }

  @Get('applications/:id/api-keys')
  @AdminAuth()
  @ApiOperation({ summary: "List an application's keys (prefix, scopes, status, last use)" })
  @ApiView.page('ApiKeyView')
  async list(@Param('id') applicationId: string, @Query() q: PageQueryDto) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    return toPage(await this.keys.list(applicationId, q.cursor, limit + 1), limit, (k) => this.view(k));
  }

  @Get('api-keys/:id')
  @AdminAuth()
  @ApiOperation({ summary: 'Show an API key (never its secret)' })
  @ApiView('ApiKeyView')
  async get(@Param('id') id: string) {
    return this.view(await this.keys.get(id));
  }

  @Post('api-keys/:id/rotate')
  @HttpCode(200)
  @AdminAuth('owner')
  @Audited('api_key.rotate', 'api_key', 'warning')
  @ApiOperation({ summary: 'New key with the same scopes (shown once); the old one works for grace_seconds more' })
  @ApiView('RotatedApiKeyView')
  async rotate(@Param('id') id: string, @Body() body: RotateDto, @Principal() p: Principal) {
    const { key, secret, previous } = await this.keys.rotate(id, body.grace_seconds, p.kind === 'admin' ? p.adminId : undefined);
    return { ...this.view(key), key: secret, previous: this.view(previous) };
  }

  @Post('api-keys/:id/revoke')
  @HttpCode(200)
  @AdminAuth('owner')
  @Audited('api_key.revoke', 'api_key', 'critical')
  @ApiOperation({ summary: 'Revoke at once, on every node' })
  @ApiView('ApiKeyView')
  async revoke(@Param('id') id: string) {
    return this.view(await this.keys.revoke(id));
  }

  @Delete('api-keys/:id')
  @AdminAuth('owner')
  @Audited('api_key.revoke', 'api_key', 'critical')
  @ApiOperation({ summary: 'Same as POST /admin/api-keys/{id}/revoke' })
  @ApiView('ApiKeyView')
  async remove(@Param('id') id: string) {
    return this.view(await this.keys.revoke(id));
  }
}
