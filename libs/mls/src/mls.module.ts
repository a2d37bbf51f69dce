import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { MLS_GROUP_MODEL, MLS_KEY_PACKAGE_MODEL, MLS_MESSAGE_MODEL, MLS_WELCOME_MODEL, MlsGroupSchema, MlsKeyPackageSchema, MlsMessageSchema, MlsWelcomeSchema } from './mls.schema';
import { MlsGroupsRepository, MlsKeyPackagesRepository, MlsMessagesRepository, MlsWelcomesRepository } from './mls.repository';
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
    ]),
  ],
  providers: [MlsKeyPackagesRepository, MlsGroupsRepository, MlsMessagesRepository, MlsWelcomesRepository, MlsDeliveryService],
  exports: [MlsDeliveryService],
})
export class MlsModule {}
