import { Injectable, Module, Optional } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AppConfig } from '@chat/config';
import { ChatEventBus } from '@chat/events';
import { TenantContext } from '@chat/tenancy';
import { FILE_MODEL, FILE_PURGE_MODEL, FilePurgeSchema, FileRecord, FileSchema } from './file.schema';
import { FilePurgeQueue, FilesRepository } from './files.repository';

/**
 * Marking files deleted: the file stops counting against the storage quota at once and its object is
 * queued for the sweep after FILES_DELETE_GRACE_SECONDS. Needs neither S3 nor chat core, so processes
 * that delete messages without serving files (retention in the admin app, the CLI) mark the same way.
 */
@Injectable()
export class FileDeletionMarker {
  constructor(
    private readonly repo: FilesRepository,
    private readonly purges: FilePurgeQueue,
    private readonly config: AppConfig,
    // Optional so unit wiring needs no bus (every app has one, through CoreModule).
    @Optional() private readonly events?: ChatEventBus,
  ) {}

  /** Marks one live file and queues its object; false when it was not live any more. Reports nothing. `reason`: see FileDoc.deleted_reason. */
  async mark(f: FileRecord, now = new Date(), reason: 'removed' | null = null): Promise<boolean> {
    const tenantId = TenantContext.requireTenantId('files.delete');
    const marked = await this.repo.markDeleted(String(f._id), now, undefined, reason);
    if (!marked) return false;
    await this.purges.schedule({
      tenant_id: tenantId,
      file_id: String(f._id),
      bucket: f.storage.bucket,
      key: f.storage.key,
      reason: 'deleted',
      due_at: new Date(now.getTime() + this.config.FILES_DELETE_GRACE_SECONDS * 1000),
    });
    return true;
  }

  /** Marks every live file of these messages (of the tenant in context); returns how many. */
  async markFilesOfMessages(messageIds: readonly string[]): Promise<number> {
    if (!messageIds.length) return 0;
    const now = new Date();
    let n = 0;
    for (const f of await this.repo.liveOfMessages(messageIds)) if (await this.mark(f, now)) n++;
    if (n) await this.reportStorage();
    return n;
  }

  /** Usage metering samples the tenant's stored bytes whenever they change. */
  async reportStorage(): Promise<void> {
    const tenantId = TenantContext.requireTenantId('files.reportStorage');
    this.events?.emit('storage.changed', { tenantId, stored_bytes: await this.repo.usedBytes() });
  }
}

/** The files collection, the purge queue and the marker, without S3 or chat core (see FileDeletionMarker). */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: FILE_MODEL, schema: FileSchema },
      { name: FILE_PURGE_MODEL, schema: FilePurgeSchema },
    ]),
  ],
  providers: [FilesRepository, FilePurgeQueue, FileDeletionMarker],
  exports: [FilesRepository, FilePurgeQueue, FileDeletionMarker],
})
export class FileDeletionModule {}
