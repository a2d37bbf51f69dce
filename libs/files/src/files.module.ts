import { Module } from '@nestjs/common';
import { ChatModule } from '@chat/chat';
import { KeysModule } from '@chat/keys';
import { QuotasModule } from '@chat/quotas';
import { ChatFileAccess } from './chat-file-access';
import { FileDeletionModule } from './file-deletion';
import { FilesChatBridge } from './files-chat-bridge';
import { FilesService } from './files.service';
import { FilesSweeper } from './files-sweeper';
import { S3StorageService } from './s3-storage.service';

/** Encrypted files on S3: presigned URLs, the `files` collection and the deletion sweep. */
@Module({
  // The collections and the deletion marker, shared with retention (which deletes messages too).
  imports: [FileDeletionModule, ChatModule, KeysModule, QuotasModule],
  providers: [S3StorageService, ChatFileAccess, FilesService, FilesSweeper, FilesChatBridge],
  exports: [FilesService, FilesSweeper, S3StorageService],
})
export class FilesModule {}
