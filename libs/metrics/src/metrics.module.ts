import { Module, OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics } from 'prom-client';
import { DbCommandMonitor } from '@chat/database';
import { histogram, metricsRegistry } from './metrics';
import { MetricsController } from './metrics.controller';

let defaultsCollected = false;

@Module({ controllers: [MetricsController] })
export class MetricsModule implements OnModuleInit {
  onModuleInit(): void {
    if (!defaultsCollected) {
      collectDefaultMetrics({ register: metricsRegistry });
      defaultsCollected = true;
      const dbLatency = histogram('chat_db_command_duration_seconds', 'MongoDB command latency', ['command', 'ok']);
      DbCommandMonitor.onCommand((e) => dbLatency.observe({ command: e.commandName, ok: String(e.ok) }, e.durationMs / 1000));
    }
  }
}
