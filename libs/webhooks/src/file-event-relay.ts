import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
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
    // Absent in apps without files (admin alone).
    @Optional() private readonly files?: FilesService,
  ) {}

  onModuleInit(): void {
    this.off = this.files?.onFileEvent(({ type, tenantId, file }) => {
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
}
