import { useEffect, useState } from 'preact/hooks';
import { onLink, usePath } from '../shared/router';
import { adminToken, describe, get, post, setAdminToken } from './api';
import { Tenants } from './Tenants';
import { TenantDetail } from './TenantDetail';
import { ApplicationDetail } from './ApplicationDetail';
import { Invoices } from './Invoices';
import { AuditLog } from './AuditLog';
import { ModerationQueue } from './Moderation';
import { ReportDetail } from './ReportDetail';

const BASE = '/console';

/** The platform admin console: every screen is a view over the existing admin API (/admin). */
export function Console() {
  const [token, setToken] = useState(adminToken());
  const [me, setMe] = useState<{ email: string; role: string } | null>(null);
  const path = usePath();

  useEffect(() => {
    const out = () => setToken(null);
    addEventListener('console:signed-out', out);
    return () => removeEventListener('console:signed-out', out);
  }, []);
  useEffect(() => {
    if (token) get<{ email: string; role: string }>('/admin/auth/me').then(setMe, () => undefined);
  }, [token]);

  if (!token) return <Login onToken={(t) => (setAdminToken(t), setToken(t))} />;
  const rest = path.startsWith(BASE) ? path.slice(BASE.length) : '';
  const parts = rest.split('/').filter(Boolean);
  let page;
  if (parts[0] === 'tenants' && parts[1] && parts[2] === 'moderation') page = parts[3] ? <ReportDetail tenantId={parts[1]} reportId={parts[3]} /> : <ModerationQueue tenantId={parts[1]} />;
  else if (parts[0] === 'tenants' && parts[1]) page = <TenantDetail id={parts[1]} />;
  else if (parts[0] === 'applications' && parts[1]) page = <ApplicationDetail id={parts[1]} />;
  else if (parts[0] === 'invoices') page = <Invoices />;
  else if (parts[0] === 'audit') page = <AuditLog />;
  else page = <Tenants />;
  const nav = (href: string, label: string, active: boolean) => (
    <a href={href} onClick={onLink} class={active ? 'active' : ''}>
      {label}
    </a>
  );
  return (
    <div class="console">
      <nav aria-label="Console">
        {nav(`${BASE}/tenants`, 'Tenants', !parts[0] || parts[0] === 'tenants' || parts[0] === 'applications')}
        {nav(`${BASE}/invoices`, 'Invoices', parts[0] === 'invoices')}
        {nav(`${BASE}/audit`, 'Audit log', parts[0] === 'audit')}
        <span class="grow" />
        <span class="muted" style={{ color: '#cfd6e2' }}>
          {me ? `${me.email} (${me.role})` : ''}
        </span>
        <button onClick={() => (setAdminToken(null), setToken(null))}>Sign out</button>
      </nav>
      <main>{page}</main>
    </div>
  );
}

function Login({ onToken }: { onToken: (t: string) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="card center stack"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          onToken((await post<{ token: string }>('/admin/auth/login', { email, password })).token);
        } catch (err) {
          setError(describe(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h1>Admin console</h1>
      <p class="muted">After the first <code>npm start</code>, the first admin's email and password are in <code>data/initial-admin.txt</code>.</p>
      <label>
        Email
        <input name="email" type="email" autoComplete="username" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      <button class="primary" type="submit" disabled={busy}>Sign in</button>
    </form>
  );
}
