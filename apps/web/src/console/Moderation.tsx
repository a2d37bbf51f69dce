import { useState } from 'preact/hooks';
import type { ReportStatus, ReportView, UserBanView } from '@chat/contracts';
import { onLink } from '../shared/router';
import { api, get, type Page, type Tenant } from './api';
import { useAction, useLoad } from './hooks';

/** Reports per page: a moderator reads each one, so a short page. */
const PAGE = 10;

export const STATUS_LABELS: Record<ReportStatus, string> = { open: 'open', actioned: 'resolved: actioned', dismissed: 'resolved: dismissed' };

/** `datetime-local` input → ISO 8601 (the admin API's expires_at), or undefined when empty. */
export const isoOrUndefined = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

/**
 * A tenant's moderation queue (docs/moderation.md, "The moderation queue"): its reports by status with
 * cursor paging, each opening its detail; and the tenant's banned users. Admin API only.
 */
export function ModerationQueue({ tenantId }: { tenantId: string }) {
  const tenant = useLoad(() => get<Tenant>(`/admin/tenants/${tenantId}`), [tenantId]);
  const [status, setStatus] = useState<ReportStatus | 'resolved' | ''>('open');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useLoad(() => get<Page<ReportView>>(`/admin/tenants/${tenantId}/moderation/reports`, { status, cursor, limit: PAGE }), [tenantId, status, cursor]);
  return (
    <div class="stack">
      <p><a href={`/console/tenants/${tenantId}`} onClick={onLink}>← {tenant.data?.name ?? 'Tenant'}</a></p>
      <h1>Moderation queue</h1>
      <p class="muted">
        Reports of messages by the tenant's members. A report carries the reported message's plaintext, disclosed by the reporter; the server checks it against the message's
        franking commitment when it is filed.
      </p>
      <label>
        Status
        <select name="report-status" value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value as ReportStatus | 'resolved' | ''), setCursors([]))}>
          <option value="open">open</option>
          <option value="resolved">resolved</option>
          <option value="actioned">resolved: actioned</option>
          <option value="dismissed">resolved: dismissed</option>
          <option value="">all</option>
        </select>
      </label>
      {list.error && <p class="error" role="alert">{list.error}</p>}
      <div class="table-wrap">
        <table aria-label="Reports">
          <thead>
            <tr><th>Reported</th><th>Reason</th><th>Sender</th><th>Reporter</th><th>Franking</th><th>Status</th></tr>
          </thead>
          <tbody>
            {list.data?.data.map((r) => (
              <tr key={r.id} data-report={r.id}>
                <td><a href={`/console/tenants/${tenantId}/moderation/${r.id}`} onClick={onLink}>{new Date(r.created_at).toLocaleString()}</a></td>
                <td>{r.reason}</td>
                <td><code>{r.sender_id}</code></td>
                <td><code>{r.reporter_id}</code></td>
                <td class={r.verified ? 'ok' : 'error'}>{r.verified ? 'verified' : 'unverifiable'}</td>
                <td><span class={`tag${r.status === 'open' ? ' warn' : ''}`}>{STATUS_LABELS[r.status]}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data && !list.data.data.length && <p class="muted" data-testid="no-reports">No reports here.</p>}
      <div class="row" role="group" aria-label="Report pages">
        <button disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <button disabled={!list.data?.next_cursor} onClick={() => setCursors([...cursors, list.data!.next_cursor!])}>Next</button>
      </div>
      <TenantBans tenantId={tenantId} />
    </div>
  );
}

/** The tenant's banned end users (tenant-wide bans): list by cursor, unban, ban by user id. */
function TenantBans({ tenantId }: { tenantId: string }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useLoad(() => get<Page<UserBanView>>(`/admin/tenants/${tenantId}/bans`, { cursor, limit: 20 }), [tenantId, cursor]);
  const act = useAction();
  const [userId, setUserId] = useState('');
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const banPath = (id: string) => `/admin/tenants/${tenantId}/users/${encodeURIComponent(id)}/ban`;
  return (
    <section class="card stack" aria-label="Banned users">
      <h2>Banned users</h2>
      <p class="muted">A banned user's sockets are cut and every request is refused until unbanned or the ban expires.</p>
      {(list.error || act.error) && <p class="error" role="alert">{list.error ?? act.error}</p>}
      <div class="table-wrap">
        <table aria-label="Bans">
          <thead>
            <tr><th>User</th><th>Reason</th><th>Until</th><th>By</th><th /></tr>
          </thead>
          <tbody>
            {list.data?.data.map((b) => (
              <tr key={b.user_id} data-ban={b.user_id}>
                <td><code>{b.user_id}</code> {!b.active && <span class="tag">expired</span>}</td>
                <td>{b.reason ?? ''}</td>
                <td>{b.expires_at ? new Date(b.expires_at).toLocaleString() : 'until unbanned'}</td>
                <td>{b.by.type}</td>
                <td class="row">
                  <button disabled={act.busy} onClick={() => void act.run(async () => (await api('DELETE', banPath(b.user_id)), list.reload()))}>Unban</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data && !list.data.data.length && <p class="muted">Nobody is banned.</p>}
      <div class="row" role="group" aria-label="Ban pages">
        <button disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <button disabled={!list.data?.next_cursor} onClick={() => setCursors([...cursors, list.data!.next_cursor!])}>Next</button>
      </div>
      <form
        class="row"
        aria-label="Ban a user"
        onSubmit={(e) => {
          e.preventDefault();
          void act.run(async () => {
            await api('PUT', banPath(userId.trim()), { reason: reason || undefined, expires_at: isoOrUndefined(until) });
            setUserId('');
            setReason('');
            setUntil('');
            list.reload();
          });
        }}
      >
        <input name="ban-user" aria-label="User id" placeholder="user id" required value={userId} onInput={(e) => setUserId((e.target as HTMLInputElement).value)} />
        <input name="ban-reason" aria-label="Ban reason" placeholder="reason (optional)" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        <label>
          until (optional)
          <input name="ban-until" type="datetime-local" value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} />
        </label>
        <button class="danger" type="submit" disabled={act.busy}>Ban user</button>
      </form>
    </section>
  );
}
