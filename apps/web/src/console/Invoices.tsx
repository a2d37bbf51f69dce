import { useState } from 'preact/hooks';
import { download, get, post, type Page } from './api';
import { useAction, useLoad } from './hooks';

interface Invoice {
  id?: string;
  _id?: string;
  tenant_id: string;
  tenant_name: string;
  period: string;
  plan: string;
  currency: string;
  total_cents: number;
  status: string;
  issued_at: string;
}

function lastMonth(now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Monthly invoices: generated for a closed month (idempotent), listed by period, downloaded as JSON or CSV. */
export function Invoices() {
  const [period, setPeriod] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useLoad(() => get<Page<Invoice>>('/admin/billing/invoices', { period, cursor, limit: 50 }), [period, cursor]);
  const [generate, setGenerate] = useState(lastMonth());
  const act = useAction();
  return (
    <div class="stack">
      <h1>Invoices</h1>
      <form
        class="card row"
        aria-label="Generate invoices"
        onSubmit={(e) => {
          e.preventDefault();
          void act.run(async () => (await post('/admin/billing/usage/rollup'), await post('/admin/billing/invoices', { period: generate }), list.reload()));
        }}
      >
        <label>
          Closed month
          <input type="month" value={generate} onInput={(e) => setGenerate((e.target as HTMLInputElement).value)} />
        </label>
        <button class="primary" type="submit" disabled={act.busy}>Generate invoices</button>
        <span class="muted">Idempotent: an invoice already issued stays as it is.</span>
      </form>
      {(list.error || act.error) && <p class="error" role="alert">{list.error ?? act.error}</p>}
      <label>
        Period
        <input type="month" value={period} onInput={(e) => (setPeriod((e.target as HTMLInputElement).value), setCursors([]))} />
      </label>
      <div class="table-wrap">
        <table>
          <thead>
            <tr><th>Period</th><th>Tenant</th><th>Plan</th><th>Total</th><th>Issued</th><th /></tr>
          </thead>
          <tbody>
            {list.data?.data.map((i) => {
              const id = i.id ?? i._id ?? '';
              return (
                <tr key={id}>
                  <td>{i.period}</td>
                  <td>{i.tenant_name}</td>
                  <td>{i.plan}</td>
                  <td>{(i.total_cents / 100).toFixed(2)} {i.currency}</td>
                  <td>{new Date(i.issued_at).toLocaleDateString()}</td>
                  <td class="row">
                    <button onClick={() => void act.run(() => download('GET', `/admin/billing/invoices/${id}`, `${id}.csv`, { format: 'csv' }))}>CSV</button>
                    <button onClick={() => void act.run(() => download('GET', `/admin/billing/invoices/${id}`, `${id}.json`))}>JSON</button>
                  </td>
                </tr>
              );
            })}
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
