import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { metricsRegistry } from './metrics';
import { ApiView } from '@chat/api-docs';

/** Prometheus scrape endpoint. Serve it on an internal network only (see docs/scale-out.md). */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('Content-Type', metricsRegistry.contentType)
  @ApiView.file('text/plain', { description: 'Prometheus text exposition' })
  async scrape(): Promise<string> {
    return metricsRegistry.metrics();
  }
}
