import type { AuditLogView } from '@chat/contracts';
import { useState } from 'preact/hooks';
import { get, type Page } from './api';
import { useLoad } from './hooks';

const FILTERS = ['tenant_id', 'action', 'actor_id', 'resource_type', 'resource_id'] as const;

/** The audit log, newest first, with the admin API's filters and cursor paging. */
export function AuditLog() {
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [applied, setApplied] = useState<Record<string, string>>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useLoad(() => get<Page<AuditLogView>>('/admin/audit-logs', { ...applied, cursor, limit: 50 }), [JSON.stringify(applied), cursor]);
  const set = (k: string, v: string) => setFilters({ ...filters, [k]: v });
  const toIso = (v: string | undefined) => (v ? new Date(v).toISOString() : undefined);
  return (
    <div class="stack">
      <h1>Audit log</h1>
      <form
        class="card row"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          const f: Record<string, string> = {};
          for (const [k, v] of Object.entries(filters)) if (v) f[k] = k === 'from' || k === 'to' ? toIso(v)! : v;
          setApplied(f);
          setCursors([]);
        }}
      >
        {FILTERS.map((k) => (
          <label key={k}>
            {k.replace('_', ' ')}
            <input name={k} value={filters[k] ?? ''} onInput={(e) => set(k, (e.target as HTMLInputElement).value)} />
          </label>
        ))}
        <label>
          success
          <select value={filters.success ?? ''} onChange={(e) => set('success', (e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            <option value="true">yes</option>
            <option value="false">no</option>
          </select>
        </label>
        <label>
          severity
          <select value={filters.severity ?? ''} onChange={(e) => set('severity', (e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            <option>info</option>
            <option>warning</option>
            <option>critical</option>
          </select>
        </label>
        <label>
          from
          <input type="datetime-local" value={filters.from ?? ''} onInput={(e) => set('from', (e.target as HTMLInputElement).value)} />
        </label>
        <label>
          to
          <input type="datetime-local" value={filters.to ?? ''} onInput={(e) => set('to', (e.target as HTMLInputElement).value)} />
        </label>
        <button class="primary" type="submit">Filter</button>
      </form>
      {list.error && <p class="error">{list.error}</p>}
      <div class="table-wrap">
        <table>
          <thead>
            <tr><th>When</th><th>Action</th><th>Actor</th><th>Resource</th><th>Tenant</th><th>IP</th><th>Result</th></tr>
          </thead>
          <tbody>
            {list.data?.data.map((a) => (
              <tr key={a.id}>
                <td>{new Date(a.at).toLocaleString()}</td>
                <td>{a.action} {a.severity !== 'info' && <span class="tag warn">{a.severity}</span>}</td>
                <td>{a.actor.email ?? a.actor.id ?? a.actor.type}</td>
                <td>{a.resource.type} {a.resource.id && <code>{a.resource.id}</code>}</td>
                <td>{a.tenant_id && <code>{a.tenant_id}</code>}</td>
                <td>{a.ip}</td>
                <td class={a.success ? 'ok' : 'error'}>{a.success ? 'ok' : 'failed'}</td>
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
