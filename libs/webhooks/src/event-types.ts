import type { WEBHOOK_EVENT_TYPES } from '@chat/contracts';

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function endpointWants(events: readonly string[], type: string): boolean {
  return events.includes('*') || events.includes(type);
}
