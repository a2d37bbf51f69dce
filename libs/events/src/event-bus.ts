import { EventEmitter } from 'node:events';
import { Injectable, Logger } from '@nestjs/common';
import type { ServerToClientEventMap } from '@chat/contracts';
import type { EventTrace } from '@chat/database';
import { TenantId } from '@chat/tenancy';

/**
 * The process's one typed event bus. Domain events raised by chat services after a write is durable:
 * the realtime gateway listens and fans them out through socket.io (whose Redis adapter reaches every
 * node), so a message sent over REST reaches sockets exactly like one sent over a socket; webhooks and
 * usage metering listen too. Payloads are what clients receive (ciphertext only). Also the signals of
 * code that metering listens to (a socket connected, a tenant's stored bytes changed) and the user
 * deletion clean-ups, which are awaited (`emitAndWait`).
 */
export interface ChatEventMap {
  'message.created': { tenantId: TenantId; conversationId: string; message: Record<string, unknown> };
  'message.updated': { tenantId: TenantId; conversationId: string; message: Record<string, unknown> };
  'message.deleted': { tenantId: TenantId; conversationId: string; messageId: string; seq: number; deleted_at: string };
  /** `trace`: the webhook event written with the change (EventTrace; the webhook outbox records exactly it). */
  'reaction.added': { tenantId: TenantId; conversationId: string; messageId: string; user_id: string; emoji: string; trace?: EventTrace };
  'reaction.removed': { tenantId: TenantId; conversationId: string; messageId: string; user_id: string; emoji: string; trace?: EventTrace };
  'conversation.read': { tenantId: TenantId; conversationId: string; user_id: string; seq: number };
  'message.delivered': { tenantId: TenantId; conversationId: string; user_id: string; seq: number };
  'conversation.created': { tenantId: TenantId; conversationId: string; member_ids: string[]; conversation: Record<string, unknown> };
  /** `role_changed`: the update was a member's role change (webhooks send member.role_changed). */
  'conversation.updated': { tenantId: TenantId; conversationId: string; conversation: Record<string, unknown>; role_changed?: { user_id: string; role: string; by?: string; version?: number }; trace?: EventTrace };
  /** `version`: participants_version after the change, when it was logged (MemberChangeDoc): names the event for the webhook sweeper too. */
  'member.added': { tenantId: TenantId; conversationId: string; user_ids: string[]; by?: string; version?: number };
  'member.removed': { tenantId: TenantId; conversationId: string; user_ids: string[]; by?: string; version?: number };
  /** A device entered the conversation's MLS group (external join or Welcome): the commit's stream entry is `seq`. */
  'mls.device_joined': { tenantId: TenantId; conversationId: string; user_id: string; device_id: string; epoch: number; seq: number; message_id: string };
  /** `created`: the write created the user (webhooks tell user.created from user.updated). */
  'user.updated': { tenantId: TenantId; user_id: string; created?: boolean; trace?: EventTrace };
  /** The user was deactivated or deleted: their live sockets are cut (new requests are refused by the auth check). */
  'user.access_revoked': { tenantId: TenantId; user_id: string; reason: 'deactivated' | 'deleted' | 'banned'; trace?: EventTrace };
  /**
   * A moderation change of a conversation (libs/moderation): members get `conversation:moderation`
   * (`state` is what clients show: frozen, slow mode, muted members, the change), and so do `user_ids`
   * (the member acted on, also when no longer in the room).
   */
  'conversation.moderated': { tenantId: TenantId; conversationId: string; state: ServerToClientEventMap['conversation:moderation']; user_ids: string[] };
  /** Any moderation action, for the webhook outbox: `type` is a `moderation.*` event type, `key` makes it unique, `data` ids and metadata only. */
  'moderation.action': { tenantId: TenantId; type: string; key: string; occurred_at: string; data: Record<string, unknown> };
  /** A change whose webhook event was written with it (EventTrace) and has no other bus event: the outbox records it. */
  'event.traced': { tenantId: TenantId; trace: EventTrace };
  /** A user document was deleted: its data elsewhere goes with it. Listeners are awaited in order, inside the deleting request's tenant context. */
  'user.deleted': { tenantId: TenantId; user_id: string };
  /** A socket connected (usage metering: active users, peak connections). */
  'connection.opened': { tenantId: TenantId; user_id: string };
  /** A tenant's stored file bytes after a file was confirmed or deleted (the month's maximum is billed). */
  'storage.changed': { tenantId: TenantId; stored_bytes: number };
}
export type ChatEventName = keyof ChatEventMap;

@Injectable()
export class ChatEventBus {
  private readonly logger = new Logger('ChatEventBus');
  private readonly emitter = new EventEmitter().setMaxListeners(100);

  emit<K extends ChatEventName>(name: K, payload: ChatEventMap[K]): void {
    // A failing listener must never fail the write that already happened.
    for (const l of this.emitter.listeners(name)) {
      try {
        (l as (p: ChatEventMap[K]) => void)(payload);
      } catch (err) {
        this.logger.error(`listener for ${name} failed: ${(err as Error).message}`);
      }
    }
  }

  /** Runs every listener in order and waits for each; the first failure is thrown (the caller's write fails with it). */
  async emitAndWait<K extends ChatEventName>(name: K, payload: ChatEventMap[K]): Promise<void> {
    for (const l of this.emitter.listeners(name)) await (l as (p: ChatEventMap[K]) => unknown)(payload);
  }

  on<K extends ChatEventName>(name: K, listener: (payload: ChatEventMap[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
