import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { MlsHistoryModule } from '@chat/mls-history';
import { ConversationHistoryController, KeyBackupController } from './mls-history.controller';

/** REST for key backups and conversation history. */
@Module({ imports: [AuthModule, MlsHistoryModule], controllers: [KeyBackupController, ConversationHistoryController] })
export class MlsHistoryApiModule {}
