import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { MLS_GROUP_MODEL, MLS_KEY_PACKAGE_MODEL, MLS_MESSAGE_MODEL, MLS_WELCOME_BLOB_MODEL, MLS_WELCOME_MODEL, MlsGroupSchema, MlsKeyPackageSchema, MlsMessageSchema, MlsWelcomeBlobSchema, MlsWelcomeSchema } from './mls.schema';
import { MlsGroupsRepository, MlsKeyPackagesRepository, MlsMessagesRepository, MlsWelcomeBlobsRepository, MlsWelcomesRepository } from './mls.repository';
import { MlsDeliveryService } from './mls-delivery.service';

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
  providers: [MlsKeyPackagesRepository, MlsGroupsRepository, MlsMessagesRepository, MlsWelcomesRepository, MlsWelcomeBlobsRepository, MlsDeliveryService],
  exports: [MlsDeliveryService],
})
export class MlsModule {}
