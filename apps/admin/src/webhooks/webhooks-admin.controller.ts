import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminAuth } from '@chat/auth';
import {
  CreateWebhookDto,
  DeliveriesQueryDto,
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
import { toPage } from '@chat/platform';
import { Audited } from '../common/audited';
import { DEFAULT_LIMIT } from '../common/pagination.dto';
import { ApiView } from '@chat/api-docs';

/** Webhook endpoints of an application, their deliveries, dead letters and replays (docs/webhooks.md). */
@ApiTags('admin: webhooks')
@Controller('admin')
export class WebhooksAdminController {
  constructor(private readonly webhooks: WebhookEndpointsService) {}

  @Post('applications/:id/webhooks')
  @AdminAuth('owner')
  @Audited('webhook.create', 'webhook', 'info', 'response')
  @ApiOperation({ summary: 'Create an endpoint; `secret` in the response is the only time it is shown' })
  @ApiView('WebhookEndpointWithSecretView', { status: 201 })
  async create(@Param('id') applicationId: string, @Body() body: CreateWebhookDto) {
    const { endpoint, secret } = await this.webhooks.create(applicationId, body);
    return { ...toWebhookEndpointView(endpoint), secret };
  }

  @Get('applications/:id/webhooks')
  @AdminAuth()
  @ApiOperation({ summary: "List an application's endpoints" })
  @ApiView.page('WebhookEndpointView')
  async list(@Param('id') applicationId: string, @Query() q: WebhookPageQueryDto) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    return toPage(await this.webhooks.list(applicationId, {}, q.cursor, limit + 1), limit, toWebhookEndpointView);
  }

  @Get('webhooks/:id')
  @AdminAuth()
  @ApiOperation({ summary: 'Show an endpoint (never its secret)' })
  @ApiView('WebhookEndpointView')
  async get(@Param('id') id: string) {
    return toWebhookEndpointView(await this.webhooks.get(id));
  }

  @Patch('webhooks/:id')
  @AdminAuth('owner')
  @Audited('webhook.update', 'webhook')
  @ApiOperation({ summary: 'Change URL, events, active flag or description' })
  @ApiView('WebhookEndpointView')
  async update(@Param('id') id: string, @Body() body: UpdateWebhookDto) {
    return toWebhookEndpointView(await this.webhooks.update(id, body));
  }

  @Delete('webhooks/:id')
  @AdminAuth('owner')
  @Audited('webhook.delete', 'webhook', 'warning')
  @ApiOperation({ summary: 'Delete an endpoint; its pending deliveries are cancelled' })
  @ApiView('WebhookEndpointView')
  async remove(@Param('id') id: string) {
    return toWebhookEndpointView(await this.webhooks.remove(id));
  }

  @Post('webhooks/:id/rotate-secret')
  @HttpCode(200)
  @AdminAuth('owner')
  @Audited('webhook.rotate_secret', 'webhook', 'warning')
  @ApiOperation({ summary: 'New secret (shown once); the old one also signs for grace_seconds' })
  @ApiView('WebhookEndpointWithSecretView')
  async rotate(@Param('id') id: string, @Body() body: RotateWebhookSecretDto) {
    const { endpoint, secret } = await this.webhooks.rotateSecret(id, body.grace_seconds);
    return { ...toWebhookEndpointView(endpoint), secret };
  }

  @Post('webhooks/:id/test')
  @HttpCode(200)
  @AdminAuth('owner')
  @ApiOperation({ summary: 'Send a webhook.test event now; answers with the first attempt' })
  @ApiView('WebhookDeliveryWithAttemptsView')
  async test(@Param('id') id: string) {
    const { delivery, attempts } = await this.webhooks.test(id);
    return { ...toWebhookDeliveryView(delivery), attempt_log: attempts.map(toWebhookAttemptView) };
  }

  @Get('webhooks/:id/deliveries')
  @AdminAuth()
  @ApiOperation({ summary: 'Deliveries newest first (status=dead: the dead-letter list)' })
  @ApiView.page('WebhookDeliveryView')
  async deliveries(@Param('id') id: string, @Query() q: DeliveriesQueryDto) {
    const limit = q.limit ?? DEFAULT_LIMIT;
    return toDeliveryPage(await this.webhooks.listDeliveries(id, { status: q.status, cursor: q.cursor, limit: limit + 1 }), limit);
  }

  @Get('webhooks/:id/deliveries/:deliveryId')
  @AdminAuth()
  @ApiOperation({ summary: 'One delivery with its attempts (time, response code, latency, error)' })
  @ApiView('WebhookDeliveryWithAttemptsView')
  async delivery(@Param('id') id: string, @Param('deliveryId') deliveryId: string) {
    const { delivery, attempts } = await this.webhooks.delivery(id, deliveryId);
    return { ...toWebhookDeliveryView(delivery), attempt_log: attempts.map(toWebhookAttemptView) };
  }

  @Post('webhooks/:id/deliveries/:deliveryId/replay')
  @HttpCode(202)
  @AdminAuth('owner')
  @Audited('webhook.replay', 'webhook')
  @ApiOperation({ summary: 'Send one event again (same X-Webhook-Id), with a fresh retry window' })
  @ApiView('WebhookReplayView', { status: 202 })
  async replayOne(@Param('id') id: string, @Param('deliveryId') deliveryId: string) {
    return this.webhooks.replayOne(id, deliveryId);
  }

  @Post('webhooks/:id/replay')
  @HttpCode(202)
  @AdminAuth('owner')
  @Audited('webhook.replay', 'webhook', 'warning')
  @ApiOperation({ summary: 'Send again every event since a time (delivered and dead ones alike)' })
  @ApiView('WebhookReplayView', { status: 202 })
  async replaySince(@Param('id') id: string, @Body() body: ReplaySinceDto) {
    return this.webhooks.replaySince(id, new Date(body.since));
  }
}
