import { useState } from 'preact/hooks';
import { onLink } from '../shared/router';
import { get, post, type ApiKey, type Application, type Page } from './api';
import { useAction, useLoad } from './hooks';
import { Webhooks } from './Webhooks';
import { SignInLink } from './SignInLink';

const DEFAULT_SCOPES = 'users:write, conversations:write, messages:read, files:write, keys:read, usage:read';

/** One application: its token-signing secret, API keys (created, rotated and revoked; a secret is shown once), webhooks. */
export function ApplicationDetail({ id }: { id: string }) {
  const app = useLoad(() => get<Application>(`/admin/applications/${id}`), [id]);
  const keys = useLoad(() => get<Page<ApiKey>>(`/admin/applications/${id}/api-keys`, { limit: 100 }), [id]);
  const act = useAction();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(DEFAULT_SCOPES);
  const [revealed, setRevealed] = useState<{ what: string; secret: string; apiKey?: boolean } | null>(null);
  const a = app.data;
  if (app.error) return <p class="error">{app.error}</p>;
  if (!a) return <p class="muted">Loading…</p>;
  return (
    <div class="stack">
      <p><a href={`/console/tenants/${a.tenant_id}`} onClick={onLink}>← Tenant</a></p>
      <h1 data-testid="application-name">{a.name}</h1>
      <p class="muted">id <code>{a.id}</code> · secret version {a.secret_version} · {a.status}</p>
      {act.error && <p class="error" role="alert">{act.error}</p>}
      {revealed && (
        <div class="card stack" role="status">
          <p>{revealed.what}: shown only this once. Copy it now.</p>
          <div class="secret" data-testid="revealed-secret">{revealed.secret}</div>
          <div class="row">
            <button onClick={() => void navigator.clipboard?.writeText(revealed.secret)}>Copy</button>
            <button onClick={() => setRevealed(null)}>Done</button>
          </div>
          {revealed.apiKey && <SignInLink apiKey={revealed.secret} />}
        </div>
      )}
      <section class="card stack">
        <h2>API keys</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr><th>Name</th><th>Prefix</th><th>Scopes</th><th>Status</th><th>Expires</th><th /></tr>
            </thead>
            <tbody>
              {keys.data?.data.map((k) => (
                <tr key={k.id} data-key={k.id}>
                  <td>{k.name}</td>
                  <td><code>{k.prefix}</code></td>
                  <td>{k.scopes.join(', ')}</td>
                  <td><span class={`tag${k.status !== 'active' ? ' warn' : ''}`}>{k.status}</span></td>
                  <td>{k.expires_at ? new Date(k.expires_at).toLocaleString() : 'never'}</td>
                  <td class="row">
                    {k.status === 'active' && (
                      <>
                        <button
                          disabled={act.busy}
                          onClick={() =>
                            void act.run(async () => {
                              const r = await post<{ key: string }>(`/admin/api-keys/${k.id}/rotate`, {});
                              setRevealed({ what: `New key replacing ${k.prefix} (the old one works during the grace period)`, secret: r.key, apiKey: true });
                              keys.reload();
                            })
                          }
                        >
                          Rotate
                        </button>
                        <button class="danger" disabled={act.busy} onClick={() => confirm(`Revoke ${k.prefix} now, on every node?`) && void act.run(async () => (await post(`/admin/api-keys/${k.id}/revoke`), keys.reload()))}>
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form
          class="row"
          aria-label="Create API key"
          onSubmit={(e) => {
            e.preventDefault();
            void act.run(async () => {
              const list = scopes.split(',').map((s) => s.trim()).filter(Boolean);
              const r = await post<ApiKey & { key: string }>(`/admin/applications/${id}/api-keys`, { ...(name ? { name } : {}), scopes: list });
              setRevealed({ what: `API key ${r.prefix}`, secret: r.key, apiKey: true });
              setName('');
              keys.reload();
            });
          }}
        >
          <input name="key-name" aria-label="Key name" placeholder="Key name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <input name="key-scopes" aria-label="Scopes" class="grow" value={scopes} onInput={(e) => setScopes((e.target as HTMLInputElement).value)} />
          <button class="primary" type="submit" disabled={act.busy}>Create key</button>
        </form>
      </section>
      <section class="card stack">
        <h2>Token-signing secret</h2>
        <p class="muted">End-user tokens are signed with it. Rotating keeps the old secret valid for the grace period.</p>
        <div>
          <button
            disabled={act.busy}
            onClick={() =>
              void act.run(async () => {
                const r = await post<{ secret: string }>(`/admin/applications/${id}/rotate-secret`, {});
                setRevealed({ what: 'New token-signing secret', secret: r.secret });
                app.reload();
              })
            }
          >
            Rotate secret
          </button>
        </div>
      </section>
      <Webhooks applicationId={id} onSecret={(secret) => setRevealed({ what: 'Webhook signing secret', secret })} />
    </div>
  );
}
