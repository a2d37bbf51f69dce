import { Injectable, Logger, Module, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { MongooseModule } from '@nestjs/mongoose';
import { ChatEventBus } from '@chat/chat';
import { QuotaService, QuotasModule } from '@chat/quotas';
import { messageE2eLatency, messagesStored, registerCacheHitRatio } from './observability';
import { UsageInterceptor } from './usage.interceptor';
import { UsageRecorder } from './usage-recorder';
import { UsageRepository } from './usage.repository';
import { UsageRollupService } from './usage-rollup.service';
import { AGGREGATION_MODEL, AggregationSchema, USAGE_EVENT_MODEL, USAGE_METRIC_MODEL, UsageEventSchema, UsageMetricSchema } from './usage.schemas';
import { UsageService } from './usage.service';

/** Feeds the recorder from the event bus: messages, sockets connected, stored bytes. */
@Injectable()
class UsageListeners implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Usage');
  private readonly off: Array<() => void> = [];

  constructor(
    private readonly recorder: UsageRecorder,
    // Optional: the admin app alone has no chat bus; without quotas, connections are not sampled.
    @Optional() private readonly bus?: ChatEventBus,
    @Optional() private readonly quotas?: QuotaService,
  ) {}

  onModuleInit(): void {
    registerCacheHitRatio();
    if (this.bus) {
      this.off.push(
        this.bus.on('message.created', ({ tenantId, message }) => {
          const sender = typeof message.sender_id === 'string' ? message.sender_id : undefined;
          this.recorder.messageSent(tenantId, sender);
          const content = message.content as { type?: string } | null | undefined;
          messagesStored.inc({ type: content?.type ?? 'unknown' });
          const created = message.created_at ? new Date(message.created_at as string).getTime() : NaN;
          if (Number.isFinite(created)) messageE2eLatency.observe(Math.max(0, Date.now() - created) / 1000);
        }),
      );
      this.off.push(
        this.bus.on('connection.opened', ({ tenantId, user_id }) => {
          this.recorder.userActive(tenantId, user_id);
          // The cluster-wide count right after a connect: the month's maximum of these is the peak.
          this.quotas
            ?.connectionCount(tenantId)
            .then((n) => this.recorder.sample(tenantId, 'connections', n))
            .catch((e: Error) => this.logger.warn(`connection sample failed: ${e.message}`));
        }),
        this.bus.on('storage.changed', ({ tenantId, stored_bytes }) => this.recorder.sample(tenantId, 'storage_bytes', stored_bytes)),
      );
    }
  }

  onModuleDestroy(): void {
    this.off.forEach((f) => f());
  }
}

/**
 * Usage metering: recorder (hot path, buffered), roll-up job, read service, REST call counting. One
 * module instance per process (Nest shares an imported module), so the admin billing module and the
 * API usage controller share one recorder.
 */
@Module({
  imports: [
    QuotasModule,
    MongooseModule.forFeature([
      { name: USAGE_EVENT_MODEL, schema: UsageEventSchema },
      { name: USAGE_METRIC_MODEL, schema: UsageMetricSchema },
      { name: AGGREGATION_MODEL, schema: AggregationSchema },
    ]),
  ],
  providers: [UsageRepository, UsageRecorder, UsageRollupService, UsageService, UsageListeners, { provide: APP_INTERCEPTOR, useClass: UsageInterceptor }],
  exports: [UsageRecorder, UsageRollupService, UsageService],
})
export class UsageModule {}
