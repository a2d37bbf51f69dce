import type { AttemptRecord, WebhookDeliveryDoc, WebhookEndpointDoc } from './webhook.schemas';

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** An endpoint as the APIs show it: never its secret. */
export function toWebhookEndpointView(e: WebhookEndpointDoc) {
  return {
    id: e._id.toHexString(),
    tenant_id: e.tenant_id,
    application_id: e.application_id,
    url: e.url,
    events: e.events,
    active: e.active,
    description: e.description ?? null,
    disabled_reason: e.disabled_reason ?? null,
    previous_secret_expires_at: iso(e.previous_secret_expires_at),
    created_at: iso(e.created_at),
    updated_at: iso(e.updated_at),
  };
}

export function toWebhookDeliveryView(d: WebhookDeliveryDoc) {
  return {
    id: d._id,
    event_id: d.event_id,
    endpoint_id: d.endpoint_id,
    type: d.type,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
    retry_until: iso(d.retry_until),
    last_status_code: d.last_status_code ?? null,
    last_error: d.last_error ?? null,
    delivered_at: iso(d.delivered_at),
    created_at: iso(d.created_at),
    payload: d.payload,
  };
}

export function toWebhookAttemptView(a: AttemptRecord) {
  return { attempt: a.attempt, at: iso(a.at), status_code: a.status_code ?? null, latency_ms: a.latency_ms, error: a.error ?? null };
}

/** A page of deliveries; the cursor is `<created_at ms>_<id>` of the last row. */
export function toDeliveryPage(rows: WebhookDeliveryDoc[], limit: number) {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return { data: page.map(toWebhookDeliveryView), next_cursor: more && last ? `${new Date(last.created_at).getTime()}_${last._id}` : null };
}
