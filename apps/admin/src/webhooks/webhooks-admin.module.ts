import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { WebhooksModule } from '@chat/webhooks';
import { AuditInterceptor } from '../common/audited';
import { WebhooksAdminController } from './webhooks-admin.controller';

@Module({ imports: [AuthModule, WebhooksModule], controllers: [WebhooksAdminController], providers: [AuditInterceptor] })
export class WebhooksAdminModule {}
