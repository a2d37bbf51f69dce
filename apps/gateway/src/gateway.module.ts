import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ChatModule } from '@chat/chat';
import { AppConfig } from '@chat/config';
import { PresenceTracker, REALTIME_GATEWAY_PRESENT } from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { CoreModule } from '@chat/server';
import { FilesModule } from '@chat/files';
import { KeysModule } from '@chat/keys';
import { MlsModule } from '@chat/mls';
import { ModerationModule } from '@chat/moderation';
import { UsageModule } from '@chat/usage';
import { WebhooksModule } from '@chat/webhooks';
import { ChatFanout } from './chat-fanout';
import { ClientEvents } from './events/client-events';
import { GatewayDrain } from './gateway-drain';
import { PresenceFanout } from './presence-fanout';
import { RealtimeGateway } from './realtime.gateway';
import { RoomJoiner } from './room-joiner';
import { SocketHandshake } from './socket-handshake';

/** socket.io realtime: end users chat over WebSockets. */
@Module({
  // ModerationModule: the send and admission checks of moderation apply to socket events too; MlsModule: the v2 send check.
  imports: [CoreModule, AuthModule, ChatModule, KeysModule, MlsModule, FilesModule, UsageModule, WebhooksModule, ModerationModule],
  providers: [
    {
      provide: PresenceTracker,
      inject: [RedisService, AppConfig],
      useFactory: (redis: RedisService, config: AppConfig) => new PresenceTracker(redis, { nodeTtlMs: config.PRESENCE_NODE_TTL_MS }),
    },
    // Tells the chat event relay (api app) that this process fans events out itself.
    { provide: REALTIME_GATEWAY_PRESENT, useValue: true },
    ClientEvents,
    ChatFanout,
    SocketHandshake,
    RoomJoiner,
    PresenceFanout,
    GatewayDrain,
    RealtimeGateway,
  ],
})
export class GatewayModule {}
