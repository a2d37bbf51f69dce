import { Global, Module } from '@nestjs/common';
import { ChatFileAccess } from './chat-file-access';
import { FileDeletionModule } from './file-deletion';
import { FilesChatBridge } from './files-chat-bridge';
import { FilesService } from './files.service';
import { FilesSweeper } from './files-sweeper';
import { S3StorageService } from './s3-storage.service';

/** Encrypted files on S3: presigned URLs, the `files` collection and the deletion sweep. Needs ChatModule. */
@Global()
@Module({
  // The collections and the deletion marker, shared with retention (which deletes messages too).
  imports: [FileDeletionModule],
  providers: [S3StorageService, ChatFileAccess, FilesService, FilesSweeper, FilesChatBridge],
  exports: [FilesService, FilesSweeper, S3StorageService],
})
export class FilesModule {}
