import type { IsoDate } from './common';

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

/** pending: to be tried (again); delivered: a 2xx came back; dead: out of attempts or retry time; cancelled: the endpoint went. */
export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'dead' | 'cancelled';

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
