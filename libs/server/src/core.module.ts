import { Module } from '@nestjs/common';
import { ClockModule } from '@chat/clock';
import { ConfigModule } from '@chat/config';
import { DatabaseModule } from '@chat/database';
import { EventsModule } from '@chat/events';
import { HealthModule } from '@chat/health';
import { LoggingModule } from '@chat/logging';
import { MetricsModule } from '@chat/metrics';
import { RedisModule } from '@chat/redis';

/** What every app needs: the clock, validated config, logs, MongoDB, Redis (or in-process), the event bus, health endpoints, Prometheus metrics. */
@Module({
  imports: [ClockModule, ConfigModule, LoggingModule, DatabaseModule, RedisModule, EventsModule, HealthModule, MetricsModule],
})
export class CoreModule {}
