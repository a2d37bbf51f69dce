import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { FilesService } from '@chat/files';
import { WebhookOutbox } from './webhook-outbox';

/**
 * `file.uploaded` (confirmed) and `file.deleted` (by the uploader or the tenant's server). Metadata only:
 * the file name stays out (it may be all a user typed), the key material too.
 */
@Injectable()
export class FileEventRelay implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('WebhookFileRelay');
  private off?: () => void;

  constructor(
    private readonly outbox: WebhookOutbox,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    this.off = this.filesService()?.onFileEvent(({ type, tenantId, file }) => {
      this.outbox
        .record({
          tenantId,
          type,
          key: type === 'file.uploaded' ? file.id : randomUUID(),
          occurredAt: new Date(),
          data: {
            file_id: file.id,
            uploader_id: file.uploader_id,
            mime_type: file.metadata.mime_type,
            size: file.metadata.size,
            sharing: file.sharing.type,
            conversation_id: file.sharing.conversation_id,
            message_id: file.message_id,
          },
        })
        .catch((err: Error) => this.logger.error(`could not record ${type}: ${err.message}`));
    });
  }

  onModuleDestroy(): void {
    this.off?.();
  }

  /**
   * The app's FilesService, looked up app-wide rather than imported: apps without files (admin alone)
   * have none, and importing FilesModule here would load files (and its sweeper) into them.
   */
  private filesService(): FilesService | undefined {
    try {
      return this.moduleRef.get(FilesService, { strict: false });
    } catch {
      return undefined;
    }
  }
}
