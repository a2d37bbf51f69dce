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
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent only by POST .../webhooks/:id/test, whatever the endpoint subscribes to. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

export function endpointWants(events: readonly string[], type: string): boolean {
  return events.includes('*') || events.includes(type);
}
