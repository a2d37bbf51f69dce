import { useState } from 'preact/hooks';
import { navigate, onLink } from '../shared/router';
import { get, PLANS, post, type Page, type Tenant } from './api';
import { useAction, useLoad } from './hooks';

/** Tenants, newest first, filtered by status and plan, paged; and the form creating one. */
export function Tenants() {
  const [status, setStatus] = useState('');
  const [plan, setPlan] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useLoad(() => get<Page<Tenant>>('/admin/tenants', { status, plan, cursor, limit: 25 }), [status, plan, cursor]);
  const [name, setName] = useState('');
  const [newPlan, setNewPlan] = useState('free');
  const [region, setRegion] = useState('');
  const create = useAction();
  return (
    <div class="stack">
      <h1>Tenants</h1>
      <form
        class="card row"
        aria-label="Create tenant"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run(async () => {
            const t = await post<Tenant>('/admin/tenants', { name, plan: newPlan, ...(region ? { region } : {}) });
            navigate(`/console/tenants/${t.id}`);
          });
        }}
      >
        <label class="grow">
          Name
          <input name="tenant-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Plan
          <select name="tenant-plan" value={newPlan} onChange={(e) => setNewPlan((e.target as HTMLSelectElement).value)}>
            {PLANS.map((p) => <option key={p}>{p}</option>)}
          </select>
        </label>
        <label>
          Region
          <input name="tenant-region" placeholder="eu" value={region} onInput={(e) => setRegion((e.target as HTMLInputElement).value)} />
        </label>
        <button class="primary" type="submit" disabled={create.busy}>Create tenant</button>
        {create.error && <p class="error" role="alert">{create.error}</p>}
      </form>
      <div class="row">
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value), setCursors([]))}>
            <option value="">active and suspended</option>
            <option>active</option>
            <option>suspended</option>
            <option>deleted</option>
          </select>
        </label>
        <label>
          Plan
          <select value={plan} onChange={(e) => (setPlan((e.target as HTMLSelectElement).value), setCursors([]))}>
            <option value="">any</option>
            {PLANS.map((p) => <option key={p}>{p}</option>)}
          </select>
        </label>
      </div>
      {list.error && <p class="error">{list.error}</p>}
      <div class="table-wrap">
        <table>
          <thead>
            <tr><th>Name</th><th>Plan</th><th>Status</th><th>Region</th><th>Created</th></tr>
          </thead>
          <tbody>
            {list.data?.data.map((t) => (
              <tr key={t.id}>
                <td><a href={`/console/tenants/${t.id}`} onClick={onLink}>{t.name}</a></td>
                <td>{t.plan}</td>
                <td><span class={`tag${t.status !== 'active' ? ' warn' : ''}`}>{t.status}</span></td>
                <td>{t.region}</td>
                <td>{new Date(t.created_at).toLocaleString()}</td>
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
