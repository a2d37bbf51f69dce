import type { WebhookDeliveryView, WebhookEndpointView } from '@chat/contracts';
import { useState } from 'preact/hooks';
import { api, get, post, type Page } from './api';
import { useAction, useLoad } from './hooks';

/** An application's webhook endpoints (create, test, enable/disable, delete) and each one's deliveries (filter, replay). */
export function Webhooks({ applicationId, onSecret }: { applicationId: string; onSecret: (s: string) => void }) {
  const list = useLoad(() => get<Page<WebhookEndpointView>>(`/admin/applications/${applicationId}/webhooks`, { limit: 100 }), [applicationId]);
  const act = useAction();
  const [url, setUrl] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section class="card stack">
      <h2>Webhooks</h2>
      {(list.error || act.error) && <p class="error" role="alert">{list.error ?? act.error}</p>}
      <ul class="stack">
        {list.data?.data.map((w) => (
          <li key={w.id}>
            <div class="row">
              <code class="grow">{w.url}</code>
              <span class={`tag${w.active ? '' : ' warn'}`}>{w.active ? 'active' : `inactive${w.disabled_reason ? `: ${w.disabled_reason}` : ''}`}</span>
              <button disabled={act.busy} onClick={() => void act.run(() => post(`/admin/webhooks/${w.id}/test`))}>Send test</button>
              <button disabled={act.busy} onClick={() => void act.run(async () => (await api('PATCH', `/admin/webhooks/${w.id}`, { active: !w.active }), list.reload()))}>
                {w.active ? 'Disable' : 'Enable'}
              </button>
              <button onClick={() => setOpen(open === w.id ? null : w.id)}>{open === w.id ? 'Hide deliveries' : 'Deliveries'}</button>
              <button class="danger" disabled={act.busy} onClick={() => confirm(`Delete the endpoint ${w.url}?`) && void act.run(async () => (await api('DELETE', `/admin/webhooks/${w.id}`), list.reload()))}>
                Delete
              </button>
            </div>
            <div class="muted">events: {w.events.length ? w.events.join(', ') : 'all'}</div>
            {open === w.id && <Deliveries endpointId={w.id} />}
          </li>
        ))}
      </ul>
      <form
        class="row"
        aria-label="Add webhook"
        onSubmit={(e) => {
          e.preventDefault();
          void act.run(async () => {
            const r = await post<{ secret: string }>(`/admin/applications/${applicationId}/webhooks`, { url });
            onSecret(r.secret);
            setUrl('');
            list.reload();
          });
        }}
      >
        <input name="webhook-url" aria-label="Endpoint URL" class="grow" type="url" placeholder="https://example.com/hooks/chat" required value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        <button class="primary" type="submit" disabled={act.busy}>Add endpoint</button>
      </form>
    </section>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useLoad(() => get<Page<WebhookDeliveryView>>(`/admin/webhooks/${endpointId}/deliveries`, { status, cursor, limit: 20 }), [endpointId, status, cursor]);
  const act = useAction();
  return (
    <div class="stack">
      <label>
        Status
        <select value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value), setCursors([]))}>
          <option value="">any</option>
          <option>pending</option>
          <option>delivered</option>
          <option value="dead">dead (dead letters)</option>
          <option>cancelled</option>
        </select>
      </label>
      {(list.error || act.error) && <p class="error">{list.error ?? act.error}</p>}
      <div class="table-wrap">
        <table>
          <thead>
            <tr><th>Event</th><th>Status</th><th>Attempts</th><th>Last answer</th><th>Created</th><th /></tr>
          </thead>
          <tbody>
            {list.data?.data.map((d) => (
              <tr key={d.id}>
                <td>{d.type}</td>
                <td>{d.status}</td>
                <td>{d.attempts}</td>
                <td>{d.last_status_code ?? ''} {d.last_error ?? ''}</td>
                <td>{d.created_at ? new Date(d.created_at).toLocaleString() : ''}</td>
                <td><button disabled={act.busy} onClick={() => void act.run(async () => (await post(`/admin/webhooks/${endpointId}/deliveries/${d.id}/replay`), list.reload()))}>Replay</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="row">
        <button disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <button disabled={!list.data?.next_cursor} onClick={() => setCursors([...cursors, list.data!.next_cursor!])}>Next</button>
      </div>
    </div>
  );
}
