import { Module } from '@nestjs/common';
import { AuthModule } from '@chat/auth';
import { FilesModule } from '@chat/files';
import { FilesController } from './files.controller';

/** REST for encrypted files. */
@Module({ imports: [AuthModule, FilesModule], controllers: [FilesController] })
export class FilesApiModule {}
