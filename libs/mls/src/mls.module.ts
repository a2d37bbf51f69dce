import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { MLS_GROUP_MODEL, MLS_KEY_PACKAGE_MODEL, MLS_MESSAGE_MODEL, MLS_WELCOME_BLOB_MODEL, MLS_WELCOME_MODEL, MlsGroupSchema, MlsKeyPackageSchema, MlsMessageSchema, MlsWelcomeBlobSchema, MlsWelcomeSchema } from './mls.schema';
import { MlsKeyPackagesRepository, MlsMessagesRepository, MlsWelcomeBlobsRepository, MlsWelcomesRepository } from './mls.repository';
import { MlsDeliveryService } from './mls-delivery.service';
import { ChatModule } from '@chat/chat';
import { MlsSendGateModule } from './mls-send-gate.module';

/** The MLS Delivery Service (E2E v2): key package directory, group epochs, Welcome inboxes. */
@Module({
  imports: [
    ChatModule,
    // The send path's v2 check and the groups repository it shares with the Delivery Service.
    MlsSendGateModule,
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
    MlsMessagesRepository,
    MlsWelcomesRepository,
    MlsWelcomeBlobsRepository,
    MlsDeliveryService,
  ],
  exports: [MlsDeliveryService, MlsSendGateModule],
})
export class MlsModule {}
