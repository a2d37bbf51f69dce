import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ChatModule } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { PlatformModule, secretBoxFor } from '@chat/platform';
import { ChatEventRelay } from './chat-event-relay';
import { WebhookDeliveriesRepository } from './deliveries.repository';
import { WebhookEndpointsRepository } from './endpoints.repository';
import { FileEventRelay } from './file-event-relay';
import { OutboxSweeper } from './outbox-sweeper';
import { OfflineNotifications } from './offline-notifications';
import { FastPathWatermark } from './fast-path-watermark';
import { RecorderHeartbeat } from './recorder-heartbeat';
import { RecordersRepository, WEBHOOK_RECORDER_MODEL, WebhookRecorderSchema } from './recorders.repository';
import { ParkedEndpointsRepository, WEBHOOK_PARKED_BUCKET_MODEL, WEBHOOK_PARKED_ENDPOINT_MODEL, WebhookParkedBucketSchema, WebhookParkedEndpointSchema } from './parked-endpoints.repository';
import { ParkedRowsRepository } from './parked-rows.repository';
import { SweptConversationsRepository, SweptMessagesRepository, SweptReportsRepository } from './swept-messages.repository';
import { SWEPT_FILE_MODEL, SWEPT_TRACE_SCHEMAS, SweptFileSchema, SweptFilesRepository, SweptTracesRepository } from './swept-traces.repository';
import { WEBHOOK_SECRET_BOX, WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { EndpointDirectory } from './endpoint-directory';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookSender } from './webhook-sender';
import {
  SWEPT_CONVERSATION_MODEL,
  SWEPT_MESSAGE_MODEL,
  SWEPT_REPORT_MODEL,
  SweptConversationSchema,
  SweptMessageSchema,
  SweptReportSchema,
  WEBHOOK_ATTEMPT_MODEL,
  WEBHOOK_DELIVERY_MODEL,
  WEBHOOK_ENDPOINT_MODEL,
  WEBHOOK_PENDING_MODEL,
  WebhookAttemptSchema,
  WebhookDeliverySchema,
  WebhookEndpointSchema,
  WebhookPendingSchema,
} from './webhook.schemas';

/**
 * Webhooks (docs/webhooks.md): endpoints and secrets, the outbox (fast path from chat events plus the
 * crash sweeper), and the dispatcher every node runs. Imported by the api, gateway and admin apps; in
 * one process it is one instance.
 */
@Module({
  imports: [
    ChatModule,
    PlatformModule,
    MongooseModule.forFeature([
      { name: WEBHOOK_ENDPOINT_MODEL, schema: WebhookEndpointSchema },
      { name: WEBHOOK_DELIVERY_MODEL, schema: WebhookDeliverySchema },
      { name: WEBHOOK_PENDING_MODEL, schema: WebhookPendingSchema },
      { name: WEBHOOK_ATTEMPT_MODEL, schema: WebhookAttemptSchema },
      { name: WEBHOOK_RECORDER_MODEL, schema: WebhookRecorderSchema },
      { name: WEBHOOK_PARKED_ENDPOINT_MODEL, schema: WebhookParkedEndpointSchema },
      { name: WEBHOOK_PARKED_BUCKET_MODEL, schema: WebhookParkedBucketSchema },
      { name: SWEPT_MESSAGE_MODEL, schema: SweptMessageSchema },
      { name: SWEPT_CONVERSATION_MODEL, schema: SweptConversationSchema },
      { name: SWEPT_REPORT_MODEL, schema: SweptReportSchema },
      { name: SWEPT_FILE_MODEL, schema: SweptFileSchema },
      ...SWEPT_TRACE_SCHEMAS,
    ]),
  ],
  providers: [
    { provide: WEBHOOK_SECRET_BOX, inject: [AppConfig], useFactory: secretBoxFor },
    WebhookEndpointsRepository,
    WebhookDeliveriesRepository,
    SweptMessagesRepository,
    SweptConversationsRepository,
    SweptReportsRepository,
    SweptTracesRepository,
    SweptFilesRepository,
    EndpointDirectory,
    WebhookOutbox,
    WebhookSender,
    WebhookDispatcher,
    FastPathWatermark,
    RecordersRepository,
    ParkedEndpointsRepository,
    ParkedRowsRepository,
    RecorderHeartbeat,
    OutboxSweeper,
    OfflineNotifications,
    ChatEventRelay,
    FileEventRelay,
    WebhookEndpointsService,
  ],
  exports: [WebhookEndpointsService, WebhookDispatcher, OutboxSweeper, WebhookOutbox],
})
export class WebhooksModule {}
