import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { ChatModule } from '@chat/chat';
import { KeysModule } from '@chat/keys';
import { MlsModule } from '@chat/mls';
import { HISTORY_BUNDLE_MODEL, HISTORY_SETTING_MODEL, HistoryBundleSchema, HistorySettingSchema, KEY_BACKUP_ENTRY_MODEL, KEY_BACKUP_MODEL, KeyBackupEntrySchema, KeyBackupSchema } from './mls-history.schema';
import { HistoryBundlesRepository, HistorySettingsRepository, KeyBackupEntriesRepository, KeyBackupsRepository } from './mls-history.repository';
import { KeyBackupService } from './key-backup.service';
import { MlsHistoryService } from './history.service';

/** E2E v2 history: users' key backups, conversations' history visibility and history bundles (ciphertext only). */
@Module({
  imports: [
    ChatModule,
    KeysModule,
    MlsModule,
    MongooseModule.forFeature([
      { name: KEY_BACKUP_MODEL, schema: KeyBackupSchema },
      { name: KEY_BACKUP_ENTRY_MODEL, schema: KeyBackupEntrySchema },
      { name: HISTORY_BUNDLE_MODEL, schema: HistoryBundleSchema },
      { name: HISTORY_SETTING_MODEL, schema: HistorySettingSchema },
    ]),
  ],
  providers: [KeyBackupsRepository, KeyBackupEntriesRepository, HistoryBundlesRepository, HistorySettingsRepository, KeyBackupService, MlsHistoryService],
  exports: [KeyBackupService, MlsHistoryService],
})
export class MlsHistoryModule {}
