import { Module } from '@nestjs/common';
import { ConversationMlsController, MyMlsDeviceController, UserMlsController } from './mls.controller';

/** REST for the MLS Delivery Service; the service comes from the global MlsModule. */
@Module({ controllers: [MyMlsDeviceController, UserMlsController, ConversationMlsController] })
export class MlsApiModule {}
