import { useState } from 'preact/hooks';
import type { ReportAction, ReportView, UserBanView } from '@chat/contracts';
import { onLink } from '../shared/router';
import { api, get, post, type Page } from './api';
import { useAction, useLoad } from './hooks';
import { isoOrUndefined, STATUS_LABELS } from './Moderation';

/** The reported payload as a moderator reads it: an SDK text message's text, anything else as its JSON. */
function readable(payload: string): { text: string | null; json: string } {
  try {
    const p = JSON.parse(payload) as { kind?: unknown; text?: unknown };
    return { text: p.kind === 'text' && typeof p.text === 'string' ? p.text : null, json: JSON.stringify(p, null, 2) };
  } catch {
    return { text: null, json: payload };
  }
}

/**
 * The user's tenant-wide ban, or null. Read from the ban list (sorted by user id, so it starts just
 * before the id and stops past it) rather than from GET .../users/:id/ban, whose 404 for "not banned"
 * the browser would log as a failed request.
 */
async function findBan(tenantId: string, userId: string): Promise<UserBanView | null> {
  let cursor: string | undefined = userId.slice(0, -1) || undefined;
  for (;;) {
    const page = await get<Page<UserBanView>>(`/admin/tenants/${tenantId}/bans`, { cursor, limit: 100 });
    for (const b of page.data) {
      if (b.user_id === userId) return b;
      if (b.user_id > userId) return null;
    }
    if (!page.next_cursor) return null;
    cursor = page.next_cursor;
  }
}

/**
 * One report: the reported message's ids, the reporter, the reason, the franking result as the server
 * recorded it and the plaintext the reporter disclosed (the report carries it by design:
 * docs/moderation.md); then the decision: act (delete the message, ban the sender with a reason and an
 * optional expiry) or resolve without action. The sender's ban can be lifted here too.
 */
export function ReportDetail({ tenantId, reportId }: { tenantId: string; reportId: string }) {
  const base = `/admin/tenants/${tenantId}/moderation/reports/${reportId}`;
  const report = useLoad(() => get<ReportView>(base), [base]);
  const r = report.data;
  const ban = useLoad(() => (r ? findBan(tenantId, r.sender_id) : Promise.resolve(null)), [tenantId, r?.sender_id, r?.status]);
  const act = useAction();
  const [actions, setActions] = useState<ReportAction[]>([]);
  const [banReason, setBanReason] = useState('');
  const [banUntil, setBanUntil] = useState('');
  const [note, setNote] = useState('');
  if (report.error) return <p class="error" role="alert">{report.error}</p>;
  if (!r) return <p class="muted">Loading…</p>;
  const shown = readable(r.payload);
  const toggle = (a: ReportAction, on: boolean) => setActions(on ? [...actions.filter((x) => x !== a), a] : actions.filter((x) => x !== a));
  const done = () => (report.reload(), setActions([]), setNote(''));
  const banned = ban.data?.active ? ban.data : null;

  return (
    <div class="stack">
      <p><a href={`/console/tenants/${tenantId}/moderation`} onClick={onLink}>← Moderation queue</a></p>
      <div class="row">
        <h1 class="grow">Report of a message ({r.reason})</h1>
        <span class={`tag${r.status === 'open' ? ' warn' : ''}`} data-testid="report-status">{STATUS_LABELS[r.status]}</span>
      </div>
      {act.error && <p class="error" role="alert">{act.error}</p>}

      <section class="card stack" aria-label="Reported message">
        <h2>Reported message</h2>
        <dl class="facts">
          <dt>message</dt><dd><code data-testid="report-message-id">{r.message_id}</code> (seq {r.message_seq})</dd>
          <dt>conversation</dt><dd><code>{r.conversation_id}</code></dd>
          <dt>sender</dt><dd><code data-testid="report-sender">{r.sender_id}</code>, device <code>{r.sender_device_id}</code></dd>
          <dt>reporter</dt><dd><code data-testid="report-reporter">{r.reporter_id}</code>, {new Date(r.created_at).toLocaleString()}</dd>
          <dt>reason</dt><dd>{r.reason}{r.note && <> — “{r.note}”</>}</dd>
          <dt>franking</dt>
          <dd data-testid="report-franking" class={r.verified ? 'ok' : 'error'}>
            {r.verified
              ? 'verified: the disclosed text opens the commitment the server stored with the message at send time, so it is what the sender sent'
              : 'unverifiable: the message was sent without a franking commitment; the text is the reporter’s unproven claim'}
          </dd>
        </dl>
        <p class="muted">Disclosed by the reporter (the one way a message’s plaintext reaches the server):</p>
        {shown.text !== null ? <blockquote class="reported" data-testid="report-payload">{shown.text}</blockquote> : <pre class="reported" data-testid="report-payload">{shown.json}</pre>}
      </section>

      <section class="card stack" aria-label="Sender">
        <h2>Sender <code>{r.sender_id}</code></h2>
        {ban.error && <p class="error">{ban.error}</p>}
        {banned ? (
          <div class="row">
            <span class="tag warn" data-testid="sender-ban">banned{banned.expires_at ? ` until ${new Date(banned.expires_at).toLocaleString()}` : ''}{banned.reason ? `: ${banned.reason}` : ''}</span>
            <button disabled={act.busy} onClick={() => void act.run(async () => (await api('DELETE', `/admin/tenants/${tenantId}/users/${encodeURIComponent(r.sender_id)}/ban`), ban.reload()))}>Unban</button>
          </div>
        ) : (
          <p class="muted" data-testid="sender-ban">not banned</p>
        )}
      </section>

      {r.status === 'open' ? (
        <form
          class="card stack"
          aria-label="Decision"
          onSubmit={(e) => {
            e.preventDefault();
            void act.run(async () => {
              const banOptions = actions.includes('ban_user') ? { reason: banReason || undefined, expires_at: isoOrUndefined(banUntil) } : undefined;
              await post(`${base}/act`, { actions, ban: banOptions, note: note || undefined });
              done();
            });
          }}
        >
          <h2>Decision</h2>
          <label class="check">
            <input type="checkbox" name="delete_message" checked={actions.includes('delete_message')} onChange={(e) => toggle('delete_message', (e.target as HTMLInputElement).checked)} />
            Delete the message (for every member)
          </label>
          <label class="check">
            <input type="checkbox" name="ban_user" checked={actions.includes('ban_user')} onChange={(e) => toggle('ban_user', (e.target as HTMLInputElement).checked)} />
            Ban the sender tenant-wide{banned ? ' (already banned: this replaces the ban)' : ''}
          </label>
          {actions.includes('ban_user') && (
            <div class="row">
              <input name="ban-reason" aria-label="Ban reason" class="grow" placeholder="ban reason (optional; default: the note)" value={banReason} onInput={(e) => setBanReason((e.target as HTMLInputElement).value)} />
              <label>
                until (optional)
                <input name="ban-until" type="datetime-local" value={banUntil} onInput={(e) => setBanUntil((e.target as HTMLInputElement).value)} />
              </label>
            </div>
          )}
          <label>
            Note (kept with the resolution)
            <textarea name="note" rows={2} maxLength={1000} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
          </label>
          <div class="row">
            <button class="primary" type="submit" disabled={act.busy || !actions.length}>Act</button>
            <button type="button" disabled={act.busy} onClick={() => void act.run(async () => (await post(`${base}/resolve`, { note: note || undefined }), done()))}>
              Resolve without action
            </button>
          </div>
        </form>
      ) : (
        r.resolution && (
          <section class="card stack" aria-label="Resolution">
            <h2>Resolution</h2>
            <p data-testid="report-resolution">
              {r.resolution.actions.length ? r.resolution.actions.map((a) => a.replace('_', ' ')).join(', ') : 'no action'} by {r.resolution.by.type} <code>{r.resolution.by.id}</code>,{' '}
              {new Date(r.resolution.at).toLocaleString()}
              {r.resolution.note && <> — “{r.resolution.note}”</>}
            </p>
          </section>
        )
      )}
    </div>
  );
}
