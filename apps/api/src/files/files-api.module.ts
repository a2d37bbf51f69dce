import { Module } from '@nestjs/common';
import { FilesController } from './files.controller';

/** REST for encrypted files; the services come from the global FilesModule. */
@Module({ controllers: [FilesController] })
export class FilesApiModule {}
