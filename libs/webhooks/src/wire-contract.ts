import type { Matches, WebhookAttemptView, WebhookDeliveryView, WebhookEndpointView } from '@chat/contracts';
import type { toWebhookAttemptView, toWebhookDeliveryView, toWebhookEndpointView } from './webhook.views';

/** The views this lib answers with are the wire contract's (both ways: a mismatch fails the type-check). */
export type WireChecks = [
  Matches<ReturnType<typeof toWebhookEndpointView>, WebhookEndpointView>,
  Matches<ReturnType<typeof toWebhookDeliveryView>, WebhookDeliveryView>,
  Matches<ReturnType<typeof toWebhookAttemptView>, WebhookAttemptView>,
];
