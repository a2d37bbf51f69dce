import type { IsoDate } from './common';

/** Every event type an endpoint can subscribe to (`*` subscribes to all). Payloads carry ids and metadata, never message content. */
export const WEBHOOK_EVENT_TYPES = [
  'message.new',
  'message.updated',
  'message.deleted',
  'reaction.new',
  'reaction.deleted',
  'conversation.created',
  'conversation.updated',
  'member.added',
  'member.removed',
  'member.role_changed',
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.deleted',
  'file.uploaded',
  'file.deleted',
  'notification.offline',
  // Moderation (libs/moderation, docs/moderation.md): ids and metadata only.
  'moderation.user_banned',
  'moderation.user_unbanned',
  'moderation.member_muted',
  'moderation.member_unmuted',
  'moderation.member_banned',
  'moderation.member_unbanned',
  'moderation.conversation_frozen',
  'moderation.conversation_unfrozen',
  'moderation.slow_mode_changed',
  'moderation.message_pinned',
  'moderation.message_unpinned',
  // Reports (libs/reports, docs/moderation.md).
  'moderation.report.created',
  'moderation.report.resolved',
] as const;

/** Sent only by POST .../webhooks/:id/test, whatever the endpoint subscribes to. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

/** A webhook endpoint: never its secret. */
export interface WebhookEndpointView {
  id: string;
  tenant_id: string;
  application_id: string;
  url: string;
  events: string[];
  active: boolean;
  description: string | null;
  disabled_reason: string | null;
  previous_secret_expires_at: IsoDate | null;
  created_at: IsoDate | null;
  updated_at: IsoDate | null;
}

/** Creating an endpoint or rotating its secret: `secret` (signs deliveries) is shown this once. */
export interface WebhookEndpointWithSecretView extends WebhookEndpointView {
  secret: string;
}

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'cancelled'] as const;
/** pending: to be tried (again); delivered: a 2xx came back; dead: out of attempts or retry time; cancelled: the endpoint went. */
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export interface WebhookDeliveryView {
  id: string;
  event_id: string;
  endpoint_id: string;
  type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: IsoDate | null;
  retry_until: IsoDate | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: IsoDate | null;
  created_at: IsoDate | null;
  /** The event as delivered (the signed request body). */
  payload: Record<string, unknown>;
}

export interface WebhookAttemptView {
  attempt: number;
  at: IsoDate | null;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

/** A delivery with its attempt log (GET .../deliveries/{id}, POST .../test). */
export interface WebhookDeliveryWithAttemptsView extends WebhookDeliveryView {
  attempt_log: WebhookAttemptView[];
}

/** Replay answers: how many deliveries were queued again. */
export interface WebhookReplayView {
  requeued: number;
}

/**
 * `data` of `reaction.new` / `reaction.deleted` events. Ids only: never the emoji, which an E2E
 * client sends as an encrypted reaction token (events carry ids and metadata, never content).
 */
export interface WebhookReactionEventData {
  message_id: string;
  conversation_id: string;
  user_id: string;
}
