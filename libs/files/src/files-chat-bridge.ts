import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ChatEventBus } from '@chat/chat';
import { KeyDirectoryService, KeySharesService } from '@chat/keys';
import { TenantContext } from '@chat/tenancy';
import { FilesService } from './files.service';

/**
 * Connects files and keys to chat core events (membership and message look-ups: ChatFileAccess): a
 * deleted message marks its files for removal and drops its history key shares; a deleted user's
 * device keys go with the user. (libs/keys cannot import chat core: chat core imports it.)
 */
@Injectable()
export class FilesChatBridge implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('FilesChatBridge');
  private unsubscribe: (() => void) | null = null;
  private offUserDeleted: (() => void) | null = null;

  constructor(
    private readonly files: FilesService,
    private readonly events: ChatEventBus,
    private readonly keyShares: KeySharesService,
    private readonly keyDirectory: KeyDirectoryService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.events.on('message.deleted', ({ tenantId, messageId }) => {
      void this.files.onMessageDeleted(tenantId, messageId).catch((err) => this.logger.error(`marking files of message ${messageId} failed: ${(err as Error).message}`));
      void TenantContext.run({ tenantId, actor: { type: 'system', id: 'keys' } }, () => this.keyShares.removeMessageShares(messageId)).catch((err) =>
        this.logger.error(`dropping key shares of message ${messageId} failed: ${(err as Error).message}`),
      );
    });
    // Runs inside the deleting request's tenant context.
    this.offUserDeleted = this.events.on('user.deleted', async ({ user_id }) => void (await this.keyDirectory.removeUser(user_id)));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.offUserDeleted?.();
  }
}
