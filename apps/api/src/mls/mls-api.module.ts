import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { MlsModule } from '@chat/mls';
import { ConversationMlsController, MyMlsDeviceController, UserMlsController } from './mls.controller';

/** REST for the MLS Delivery Service. */
@Module({ imports: [AuthModule, MlsModule], controllers: [MyMlsDeviceController, UserMlsController, ConversationMlsController] })
export class MlsApiModule {}
