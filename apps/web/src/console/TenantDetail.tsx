import { useState } from 'preact/hooks';
import { onLink } from '../shared/router';
import { api, download, get, PLANS, post, QUOTAS, type Application, type Page, type Tenant } from './api';
import { useAction, useLoad } from './hooks';
import { UsageCharts } from './Usage';

/** One tenant: plan and quotas, suspension, export and delete, live and metered usage, its applications. */
export function TenantDetail({ id }: { id: string }) {
  const tenant = useLoad(() => get<Tenant>(`/admin/tenants/${id}`), [id]);
  const live = useLoad(() => get<{ usage: { concurrent_connections: number } }>(`/admin/tenants/${id}/usage`).catch(() => null), [id]);
  const apps = useLoad(() => get<Page<Application>>(`/admin/tenants/${id}/applications`, { limit: 100 }), [id]);
  const act = useAction();
  const [appName, setAppName] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const t = tenant.data;
  if (tenant.error) return <p class="error">{tenant.error}</p>;
  if (!t) return <p class="muted">Loading…</p>;
  const update = (body: unknown) => act.run(async () => (await api('PATCH', `/admin/tenants/${id}`, body), tenant.reload()));

  return (
    <div class="stack">
      <p><a href="/console/tenants" onClick={onLink}>← Tenants</a></p>
      <div class="row">
        <h1 class="grow" data-testid="tenant-name">{t.name}</h1>
        <span class={`tag${t.status !== 'active' ? ' warn' : ''}`} data-testid="tenant-status">{t.status}</span>
      </div>
      <p class="muted">
        id <code>{t.id}</code> · region {t.region} · created {new Date(t.created_at).toLocaleString()}
        {live.data && ` · ${live.data.usage.concurrent_connections} connections now`}
        {t.suspension_reason && ` · suspended: ${t.suspension_reason}`}
        {t.exported_at && ` · exported ${new Date(t.exported_at).toLocaleString()}`}
      </p>
      {act.error && <p class="error" role="alert">{act.error}</p>}
      <p><a href={`/console/tenants/${id}/moderation`} onClick={onLink}>Moderation queue and bans</a></p>

      <section class="card stack">
        <h2>Plan and quotas</h2>
        <label>
          Plan
          <select value={t.plan} disabled={act.busy || t.status === 'deleted'} onChange={(e) => void update({ plan: (e.target as HTMLSelectElement).value })}>
            {PLANS.map((p) => <option key={p}>{p}</option>)}
          </select>
        </label>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget as HTMLFormElement);
            const quotas: Record<string, number | null> = {};
            for (const q of QUOTAS) {
              const v = String(f.get(q) ?? '').trim();
              quotas[q] = v === '' ? null : Number(v);
            }
            void update({ quotas });
          }}
        >
          {QUOTAS.map((q) => (
            <label key={q}>
              {q.replace(/_/g, ' ')} {t.quota_overrides[q] === undefined && <span class="muted">(plan: {t.quotas[q]})</span>}
              <input name={q} type="number" min={0} placeholder={String(t.quotas[q] ?? '')} defaultValue={t.quota_overrides[q] === undefined ? '' : String(t.quota_overrides[q])} />
            </label>
          ))}
          <button type="submit" disabled={act.busy}>Save quotas</button>
          <span class="muted">Empty: the plan's default.</span>
        </form>
      </section>

      <section class="card stack">
        <h2>Lifecycle</h2>
        <div class="row">
          {t.status === 'active' && (
            <>
              <input aria-label="Suspension reason" placeholder="reason (optional)" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
              <button class="danger" disabled={act.busy} onClick={() => void act.run(async () => (await post(`/admin/tenants/${id}/suspend`, reason ? { reason } : {}), tenant.reload()))}>
                Suspend
              </button>
            </>
          )}
          {t.status === 'suspended' && <button disabled={act.busy} onClick={() => void act.run(async () => (await post(`/admin/tenants/${id}/reactivate`), tenant.reload()))}>Reactivate</button>}
          {t.status !== 'deleted' && <button disabled={act.busy} onClick={() => void act.run(async () => (await download('POST', `/admin/tenants/${id}/export`, `tenant-${id}.tar.gz`), tenant.reload()))}>Export (.tar.gz)</button>}
          {t.status === 'suspended' && (
            <button
              class="danger"
              disabled={act.busy}
              onClick={() => confirm(`Delete ${t.name} and erase all its data? This cannot be undone.`) && void act.run(async () => (await api('DELETE', `/admin/tenants/${id}`), tenant.reload()))}
            >
              Delete
            </button>
          )}
        </div>
        <p class="muted">A tenant is deleted only once suspended and exported since its suspension.</p>
      </section>

      <section class="stack">
        <h2>Usage</h2>
        <UsageCharts tenantId={id} />
      </section>

      <section class="card stack">
        <h2>Applications</h2>
        {apps.error && <p class="error">{apps.error}</p>}
        <ul>
          {apps.data?.data.map((a) => (
            <li key={a.id}>
              <a href={`/console/applications/${a.id}`} onClick={onLink}>{a.name}</a> <span class="tag">{a.status}</span>
            </li>
          ))}
        </ul>
        {secret && (
          <div class="stack">
            <p>The new application's token-signing secret, shown only this once:</p>
            <div class="secret" data-testid="app-secret">{secret}</div>
          </div>
        )}
        {t.status === 'active' && (
          <form
            class="row"
            aria-label="Create application"
            onSubmit={(e) => {
              e.preventDefault();
              void act.run(async () => {
                const a = await post<Application & { secret: string }>(`/admin/tenants/${id}/applications`, { name: appName });
                setSecret(a.secret);
                setAppName('');
                apps.reload();
              });
            }}
          >
            <input name="app-name" aria-label="Application name" placeholder="Application name" required value={appName} onInput={(e) => setAppName((e.target as HTMLInputElement).value)} />
            <button class="primary" type="submit" disabled={act.busy}>Create application</button>
          </form>
        )}
      </section>
    </div>
  );
}
