import { Module } from '@nestjs/common';
import { ConversationHistoryController, KeyBackupController } from './mls-history.controller';

/** REST for key backups and conversation history (services from the global MlsHistoryModule). */
@Module({ controllers: [KeyBackupController, ConversationHistoryController] })
export class MlsHistoryApiModule {}
