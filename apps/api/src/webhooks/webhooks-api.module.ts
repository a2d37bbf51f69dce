import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { WebhooksModule } from '@chat/webhooks';
import { WebhooksController } from './webhooks.controller';

@Module({ imports: [AuthModule, WebhooksModule], controllers: [WebhooksController] })
export class WebhooksApiModule {}
