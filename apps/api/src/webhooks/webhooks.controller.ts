import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, ApiKeyPrincipal, Principal } from '@chat/auth';
import { toPage } from '@chat/platform';
import {
  CreateWebhookDto,
  DeliveriesQueryDto,
  EndpointScope,
  ReplaySinceDto,
  RotateWebhookSecretDto,
  toDeliveryPage,
  toWebhookAttemptView,
  toWebhookDeliveryView,
  toWebhookEndpointView,
  UpdateWebhookDto,
  WebhookEndpointsService,
  WebhookPageQueryDto,
} from '@chat/webhooks';
import { ApiView } from '@chat/api-docs';

const DEFAULT_LIMIT = 20;
/** An API key sees only the endpoints of its own application (another one's id is a 404). */
const scopeOf = (p: ApiKeyPrincipal): EndpointScope => ({ tenantId: p.tenantId, applicationId: p.applicationId });

/** The SaaS client's server manages its application's webhook endpoints (docs/webhooks.md). */
@ApiTags('webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhookEndpointsService) {}

  @Post()
  @ApiKeyAuth('webhooks:write')
  @ApiOperation({ summary: 'Create an endpoint; `secret` in the response is the only time it is shown' })
  @ApiView('WebhookEndpointWithSecretView', { status: 201 })
  async create(@Principal() p: ApiKeyPrincipal, @Body() body: CreateWebhookDto) {
    const { endpoint, secret } = await this.webhooks.create(p.applicationId, body, scopeOf(p));
    return { ...toWebhookEndpointView(endpoint), secret };
  }

  @Get()
  @ApiKeyAuth('webhooks:read')
  @ApiOperation({ summary: "List this application's endpoints" })
  @ApiView.page('WebhookEndpointView')
  async list(@Principal() p: ApiKeyPrincipal, @Query() q: WebhookPageQueryDto) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    return toPage(await this.webhooks.list(p.applicationId, scopeOf(p), q.cursor, limit + 1), limit, toWebhookEndpointView);
  }

  @Get(':id')
  @ApiKeyAuth('webhooks:read')
  @ApiOperation({ summary: 'Show an endpoint (never its secret)' })
  @ApiView('WebhookEndpointView')
  async get(@Principal() p: ApiKeyPrincipal, @Param('id') id: string) {
    return toWebhookEndpointView(await this.webhooks.get(id, scopeOf(p)));
  }

  @Patch(':id')
  @ApiKeyAuth('webhooks:write')
  @ApiOperation({ summary: 'Change URL, events, active flag or description' })
  @ApiView('WebhookEndpointView')
  async update(@Principal() p: ApiKeyPrincipal, @Param('id') id: string, @Body() body: UpdateWebhookDto) {
    return toWebhookEndpointView(await this.webhooks.update(id, body, scopeOf(p)));
  }

  @Delete(':id')
  @ApiKeyAuth('webhooks:write')
  @ApiOperation({ summary: 'Delete an endpoint; its pending deliveries are cancelled' })
  @ApiView('WebhookEndpointView')
  async remove(@Principal() p: ApiKeyPrincipal, @Param('id') id: string) {
    return toWebhookEndpointView(await this.webhooks.remove(id, scopeOf(p)));
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiKeyAuth('webhooks:write')
  @ApiOperation({ summary: 'New secret (shown once); the old one also signs for grace_seconds' })
  @ApiView('WebhookEndpointWithSecretView')
  async rotate(@Principal() p: ApiKeyPrincipal, @Param('id') id: string, @Body() body: RotateWebhookSecretDto) {
    const { endpoint, secret } = await this.webhooks.rotateSecret(id, body.grace_seconds, scopeOf(p));
    return { ...toWebhookEndpointView(endpoint), secret };
  }

  @Post(':id/test')
  @HttpCode(200)
  @ApiKeyAuth('webhooks:write')
  @ApiOperation({ summary: 'Send a webhook.test event now; answers with the first attempt' })
  @ApiView('WebhookDeliveryWithAttemptsView')
  async test(@Principal() p: ApiKeyPrincipal, @Param('id') id: string) {
    const { delivery, attempts } = await this.webhooks.test(id, scopeOf(p));
    return { ...toWebhookDeliveryView(delivery), attempt_log: attempts.map(toWebhookAttemptView) };
  }

  @Get(':id/deliveries')
  @ApiKeyAuth('webhooks:read')
  @ApiOperation({ summary: 'Deliveries newest first (status=dead: the dead-letter list)' })
  @ApiView.page('WebhookDeliveryView')
  async deliveries(@Principal() p: ApiKeyPrincipal, @Param('id') id: string, @Query() q: DeliveriesQueryDto) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    return toDeliveryPage(await this.webhooks.listDeliveries(id, { status: q.status, cursor: q.cursor, limit: limit + 1 }, scopeOf(p)), limit);
  }

  @Get(':id/deliveries/:deliveryId')
  @ApiKeyAuth('webhooks:read')
  @ApiOperation({ summary: 'One delivery with its attempts (time, response code, latency, error)' })
  @ApiView('WebhookDeliveryWithAttemptsView')
  async delivery(@Principal() p: ApiKeyPrincipal, @Param('id') id: string, @Param('deliveryId') deliveryId: string) {
    const { delivery, attempts } = await this.webhooks.delivery(id, deliveryId, scopeOf(p));
    return { ...toWebhookDeliveryView(delivery), attempt_log: attempts.map(toWebhookAttemptView) };
  }

  @Post(':id/deliveries/:deliveryId/replay')
  @HttpCode(202)
  @ApiKeyAuth('webhooks:write')
  @ApiOperation({ summary: 'Send one event again (same X-Webhook-Id), with a fresh retry window' })
  @ApiView('WebhookReplayView', { status: 202 })
  async replayOne(@Principal() p: ApiKeyPrincipal, @Param('id') id: string, @Param('deliveryId') deliveryId: string) {
    return this.webhooks.replayOne(id, deliveryId, scopeOf(p));
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiKeyAuth('webhooks:write')
  @ApiOperation({ summary: 'Send again every event since a time (delivered and dead ones alike)' })
  @ApiView('WebhookReplayView', { status: 202 })
  async replaySince(@Principal() p: ApiKeyPrincipal, @Param('id') id: string, @Body() body: ReplaySinceDto) {
    return this.webhooks.replaySince(id, new Date(body.since), scopeOf(p));
  }
}
