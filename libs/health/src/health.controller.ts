import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorResult, HealthIndicatorService, MongooseHealthIndicator } from '@nestjs/terminus';
import type { Response } from 'express';
import { APP_VERSION } from '@chat/config';
import { RedisService, withTimeout } from '@chat/redis';
import { ApiView } from '@chat/api-docs';

const startedAt = Date.now();

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mongoose: MongooseHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisService,
  ) {}

  /** Liveness: the process answers. Dependencies are not consulted. */
  @Get()
  @ApiView('HealthView')
  live() {
    return { status: 'ok', version: APP_VERSION, uptime_seconds: Math.round((Date.now() - startedAt) / 1000) };
  }

  /** Readiness: MongoDB and Redis reported separately; 503 when a required one is down. */
  @Get('ready')
  @ApiView('HealthView', { description: 'ready (503 with the same body when a dependency is down)' })
  async ready(@Res({ passthrough: true }) res: Response) {
    let checks: Record<string, unknown>;
    let status: 'ok' | 'error';
    try {
      const r = await this.health.check([() => this.mongoose.pingCheck('mongodb', { timeout: 2000 }), () => this.redisCheck()]);
      checks = r.details;
      status = 'ok';
    } catch (err) {
      const body = (err as { getResponse?: () => { details?: Record<string, unknown> } }).getResponse?.();
      checks = body?.details ?? { error: { status: 'down' } };
      status = 'error';
    }
    res.status(status === 'ok' ? 200 : 503);
    return { status, version: APP_VERSION, uptime_seconds: Math.round((Date.now() - startedAt) / 1000), checks };
  }

  private async redisCheck(): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check('redis');
    if (this.redis.mode === 'memory') return indicator.up({ mode: 'in-process' });
    try {
      const ms = await withTimeout(this.redis.ping(), 2000, 'Redis PING');
      return indicator.up({ mode: 'redis', latency_ms: Math.round(ms * 10) / 10 });
    } catch (err) {
      return indicator.down({ mode: 'redis', message: (err as Error).message });
    }
  }
}
