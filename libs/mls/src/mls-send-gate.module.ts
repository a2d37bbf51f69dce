import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { E2eV2Gate } from '@chat/chat';
import { MLS_GROUP_MODEL, MlsGroupSchema } from './mls.schema';
import { MlsGroupsRepository } from './mls.repository';
import { MlsSendGate } from './mls-send-gate';
import { MlsSendStateCache } from './mls-send-state';

/**
 * Binds the chat core's E2eV2Gate port (the v2 send check) to the Delivery Service's groups. Global
 * because it is a port binding: libs/chat declares the token and cannot import this library (which
 * depends on it), so the send path finds the gate wherever MlsModule is loaded, and none where it is not.
 */
@Global()
@Module({
  imports: [MongooseModule.forFeature([{ name: MLS_GROUP_MODEL, schema: MlsGroupSchema }])],
  providers: [MlsGroupsRepository, MlsSendStateCache, MlsSendGate, { provide: E2eV2Gate, useExisting: MlsSendGate }],
  exports: [MlsGroupsRepository, MlsSendStateCache, E2eV2Gate],
})
export class MlsSendGateModule {}
