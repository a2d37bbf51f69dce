import { Module } from '@nestjs/common';
import { AuthApiModule } from '@chat/auth';
import { ChatModule } from '@chat/chat';
import { CoreModule } from '@chat/server';
import { FilesModule } from '@chat/files';
import { KeysModule } from '@chat/keys';
import { MlsModule } from '@chat/mls';
import { MlsHistoryModule } from '@chat/mls-history';
import { RealtimeRelayModule } from '@chat/realtime';
import { FilesApiModule } from './files/files-api.module';
import { KeysApiModule } from './keys/keys-api.module';
import { MlsApiModule } from './mls/mls-api.module';
import { MlsHistoryApiModule } from './mls-history/mls-history-api.module';
import { ConversationsApiModule } from './conversations/conversations-api.module';
import { UsersApiModule } from './users/users-api.module';
import { MessagesApiModule } from './messages/messages-api.module';
import { UsageModule } from '@chat/usage';
import { UsageApiModule } from './usage/usage-api.module';
import { WebhooksApiModule } from './webhooks/webhooks-api.module';
import { ModerationApiModule } from './moderation/moderation-api.module';
import { ReportsApiModule } from './reports/reports-api.module';

/** REST for SaaS clients (API keys) and end users (JWT), under /v1. */
@Module({
  imports: [
    CoreModule,
    AuthApiModule,
    ChatModule,
    UsersApiModule,
    ConversationsApiModule,
    MessagesApiModule,
    KeysModule,
    KeysApiModule,
    MlsModule,
    MlsApiModule,
    MlsHistoryModule,
    MlsHistoryApiModule,
    FilesModule,
    FilesApiModule,
    RealtimeRelayModule,
    UsageModule,
    UsageApiModule,
    WebhooksApiModule,
    ModerationApiModule,
    ReportsApiModule,
  ],
})
export class ApiModule {}
