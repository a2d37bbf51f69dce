import { Module } from '@nestjs/common';
import { ConversationKeysController, MyDevicesController, UserKeysController } from './keys.controller';

/** REST for the key directory; the services come from the global KeysModule and ChatModule. */
@Module({ controllers: [MyDevicesController, UserKeysController, ConversationKeysController] })
export class KeysApiModule {}
