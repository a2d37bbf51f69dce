import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { ChatModule } from '@chat/chat';
import { KeysModule } from '@chat/keys';
import { ConversationKeysController, MyDevicesController, UserKeysController } from './keys.controller';

/** REST for the key directory. */
@Module({ imports: [AuthModule, ChatModule, KeysModule], controllers: [MyDevicesController, UserKeysController, ConversationKeysController] })
export class KeysApiModule {}
