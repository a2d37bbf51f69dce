import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { MLS_GROUP_MODEL, MLS_KEY_PACKAGE_MODEL, MLS_MESSAGE_MODEL, MLS_WELCOME_BLOB_MODEL, MLS_WELCOME_MODEL, MlsGroupSchema, MlsKeyPackageSchema, MlsMessageSchema, MlsWelcomeBlobSchema, MlsWelcomeSchema } from './mls.schema';
import { MlsGroupsRepository, MlsKeyPackagesRepository, MlsMessagesRepository, MlsWelcomeBlobsRepository, MlsWelcomesRepository } from './mls.repository';
import { MlsDeliveryService } from './mls-delivery.service';
import { E2eV2Gate } from '@chat/chat';
import { MlsSendGate } from './mls-send-gate';

/** The MLS Delivery Service (E2E v2): key package directory, group epochs, Welcome inboxes. */
@Global()
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: MLS_KEY_PACKAGE_MODEL, schema: MlsKeyPackageSchema },
      { name: MLS_GROUP_MODEL, schema: MlsGroupSchema },
      { name: MLS_MESSAGE_MODEL, schema: MlsMessageSchema },
      { name: MLS_WELCOME_MODEL, schema: MlsWelcomeSchema },
      { name: MLS_WELCOME_BLOB_MODEL, schema: MlsWelcomeBlobSchema },
    ]),
  ],
  providers: [
    MlsKeyPackagesRepository,
    MlsGroupsRepository,
    MlsMessagesRepository,
    MlsWelcomesRepository,
    MlsWelcomeBlobsRepository,
    MlsDeliveryService,
    MlsSendGate,
    // The send path's v2 check (libs/chat declares the token: it cannot depend on this library).
    { provide: E2eV2Gate, useExisting: MlsSendGate },
  ],
  exports: [MlsDeliveryService, E2eV2Gate],
})
export class MlsModule {}
