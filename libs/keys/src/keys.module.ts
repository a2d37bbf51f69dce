import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import {
  CONVERSATION_KEY_MODEL,
  CONVERSATION_KEY_SHARE_MODEL,
  ConversationKeySchema,
  ConversationKeyShareSchema,
  DEVICE_KEY_MODEL,
  DeviceKeySchema,
  MESSAGE_KEY_SHARE_MODEL,
  MessageKeyShareSchema,
} from './device-key.schema';
import { ConversationKeySharesRepository, ConversationKeysRepository, DeviceKeysRepository, MessageKeySharesRepository } from './device-keys.repository';
import { KeySharesService } from './key-shares.service';
import { KeyDirectoryService } from './key-directory.service';

/**
 * Public-key directory, conversation key versions and history key shares. The chat core's messages
 * module imports it (the send path asks it for the per-device recipient rule).
 */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: DEVICE_KEY_MODEL, schema: DeviceKeySchema },
      { name: MESSAGE_KEY_SHARE_MODEL, schema: MessageKeyShareSchema },
      { name: CONVERSATION_KEY_MODEL, schema: ConversationKeySchema },
      { name: CONVERSATION_KEY_SHARE_MODEL, schema: ConversationKeyShareSchema },
    ]),
  ],
  providers: [DeviceKeysRepository, MessageKeySharesRepository, ConversationKeysRepository, ConversationKeySharesRepository, KeyDirectoryService, KeySharesService],
  exports: [KeyDirectoryService, KeySharesService],
})
export class KeysModule {}
