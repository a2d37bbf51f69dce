import { Global, Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { FILE_MODEL, FILE_PURGE_MODEL, FilePurgeSchema, FileSchema } from './file.schema';
import { FilesChatBridge } from './files-chat-bridge';
import { FilePurgeQueue, FilesRepository } from './files.repository';
import { FilesService } from './files.service';
import { FilesSweeper } from './files-sweeper';
import { S3StorageService } from './s3-storage.service';

/** Encrypted files on S3: presigned URLs, the `files` collection and the deletion sweep. Needs ChatModule. */
@Global()
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: FILE_MODEL, schema: FileSchema },
      { name: FILE_PURGE_MODEL, schema: FilePurgeSchema },
    ]),
  ],
  providers: [FilesRepository, FilePurgeQueue, S3StorageService, FilesService, FilesSweeper, FilesChatBridge],
  exports: [FilesService, FilesSweeper, S3StorageService],
})
export class FilesModule {}
