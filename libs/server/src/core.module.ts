import { Module } from '@nestjs/common';
import { ConfigModule } from '@chat/config';
import { DatabaseModule } from '@chat/database';
import { HealthModule } from '@chat/health';
import { LoggingModule } from '@chat/logging';
import { MetricsModule } from '@chat/metrics';
import { RedisModule } from '@chat/redis';

/** What every app needs: validated config, logs, MongoDB, Redis (or in-process), health endpoints, Prometheus metrics. */
@Module({
  imports: [ConfigModule, LoggingModule, DatabaseModule, RedisModule, HealthModule, MetricsModule],
})
export class CoreModule {}
