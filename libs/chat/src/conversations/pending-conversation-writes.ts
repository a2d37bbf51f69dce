import { Injectable } from '@nestjs/common';
import type { TenantId } from '@chat/tenancy';

/**
 * Conversation writes this process has promised but not yet made: a stored message's `last_message`
 * and activity time (`updated_at`, the list order), written after its sender is answered
 * (LastMessageWriter, docs/life-of-a-message.md step 5). Reads of those fields on this process wait
 * here first, so whoever sent through this node reads their own send; another node may read the
 * previous value until the write lands (the writer's next flush, after LAST_MESSAGE_WINDOW_MS or the running flush, and its round trip).
 *
 * Only promises are kept: what a conversation's next write will make true. The check is in memory and
 * costs nothing when nothing is pending.
 */
@Injectable()
export class PendingConversationWrites {
  private readonly byTenant = new Map<TenantId, Map<string, Promise<unknown>>>();

  /**
   * `done` settles once the conversation's pending write (the one covering everything promised so far)
   * has been attempted. A later call replaces an earlier one: the writer makes one write at a time per
   * conversation, so the later write ends after the earlier.
   */
  hold(tenantId: TenantId, conversationId: string, done: Promise<unknown>): void {
    let convs = this.byTenant.get(tenantId);
    if (!convs) this.byTenant.set(tenantId, (convs = new Map()));
    convs.set(conversationId, done);
    const release = () => {
      const current = this.byTenant.get(tenantId);
      if (current?.get(conversationId) !== done) return;
      current.delete(conversationId);
      if (!current.size) this.byTenant.delete(tenantId);
    };
    done.then(release, release);
  }

  /** Whether the tenant has any pending write (a list then asks which of its conversations). */
  any(tenantId: TenantId): boolean {
    return this.byTenant.has(tenantId);
  }

  has(tenantId: TenantId, conversationId: string): boolean {
    return this.byTenant.get(tenantId)?.has(conversationId) ?? false;
  }

  /**
   * Waits for the pending writes of these conversations, or of every conversation of the tenant when
   * `conversationIds` is omitted (a list: which conversations it shows depends on their activity times).
   * Never rejects: a failed write is the writer's to retry, and the read then shows what is stored.
   */
  async settled(tenantId: TenantId, conversationIds?: string[]): Promise<void> {
    const convs = this.byTenant.get(tenantId);
    if (!convs) return;
    const waits = conversationIds ? conversationIds.map((id) => convs.get(id)).filter((p) => p !== undefined) : [...convs.values()];
    if (waits.length) await Promise.allSettled(waits);
  }
}
