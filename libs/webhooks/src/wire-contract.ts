import type { Conforms, WebhookAttemptView, WebhookDeliveryView, WebhookEndpointView } from '@chat/contracts';
import type { toWebhookAttemptView, toWebhookDeliveryView, toWebhookEndpointView } from './webhook.views';

/** The views this lib answers with are the wire contract's (a mismatch fails the type-check). */
export type WireChecks = [
  Conforms<ReturnType<typeof toWebhookEndpointView>, WebhookEndpointView>,
  Conforms<ReturnType<typeof toWebhookDeliveryView>, WebhookDeliveryView>,
  Conforms<ReturnType<typeof toWebhookAttemptView>, WebhookAttemptView>,
];
