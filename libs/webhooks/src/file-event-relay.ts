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
      // Keyed by the file (it is confirmed once and deleted once): the sweeper's row for the same change is the same row.
      this.outbox
        .record({ tenantId, type, key: file.id, occurredAt: new Date(), data: fileEventData({ ...file, _id: file.id }) })
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

/** What the webhooks read of a file (its view or its stored document): never the name or the keys. */
export interface FileEventSubject {
  _id: unknown;
  uploader_id: string;
  metadata: { mime_type: string; size: number };
  sharing: { type: string; conversation_id: string | null };
  message_id: string | null;
}

/** The `file.uploaded` / `file.deleted` data (the same from the fast path and the sweeper); the key is the file id. */
export function fileEventData(f: FileEventSubject): Record<string, unknown> {
  return {
    file_id: String(f._id),
    uploader_id: f.uploader_id,
    mime_type: f.metadata.mime_type,
    size: f.metadata.size,
    sharing: f.sharing.type,
    conversation_id: f.sharing.conversation_id,
    message_id: f.message_id,
  };
}
