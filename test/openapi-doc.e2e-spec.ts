import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { createTestApp, TestApp } from './support/test-app';

type Schema = { type?: string; properties?: Record<string, Schema>; additionalProperties?: unknown; $ref?: string; allOf?: unknown; oneOf?: unknown; anyOf?: unknown; items?: Schema };
type Content = Record<string, { schema?: Schema; example?: unknown }>;
type Operation = { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown; responses?: Record<string, { description?: string; content?: Content }> };

/** What a generated client needs from /docs/openapi.json to call every route correctly. */
describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
  beforeAll(async () => {
    t = await createTestApp();
    doc = (await request(t.url).get('/docs/openapi.json').expect(200)).body;
  });
  afterAll(async () => t?.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op, id: `${method.toUpperCase()} ${path}` })));

  it('declares path parameters only for routes whose path has them, and every one it has', () => {
    const wrong: string[] = [];
    for (const { path, op, id } of operations()) {
      const inPath = new Set([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]));
      const declared = new Set((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name));
      for (const name of declared) if (!inPath.has(name)) wrong.push(`${id}: declares {${name}}`);
      for (const name of inPath) if (!declared.has(name)) wrong.push(`${id}: misses {${name}}`);
    }
    expect(wrong).toEqual([]);
  });

  it('documents cursor on every list route (every route that takes limit pages by cursor or a documented position)', () => {
    // Position parameters a route pages by instead of a cursor: the answer says the next one to send.
    const positions = new Set(['cursor', 'after_change', 'after']);
    const missing = operations()
      .filter(({ op }) => (op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'limit'))
      .filter(({ op }) => !(op.parameters ?? []).some((p) => p.in === 'query' && positions.has(p.name)))
      .map(({ id }) => id);
    expect(missing).toEqual([]);
    // The routes that accept a cursor today, by name (a regression here is a client that cannot page).
    for (const id of ['GET /v1/users', 'GET /v1/conversations', 'GET /v1/conversations/channels', 'GET /v1/users/{external_id}/conversations']) {
      const op = operations().find((o) => o.id === id);
      expect([id, (op?.op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'cursor')]).toEqual([id, true]);
    }
  });

  it('types no property as a bare object (a nullable string or number must say its type)', () => {
    const bare: string[] = [];
    const visit = (where: string, s: Schema | undefined) => {
      if (!s) return;
      if (s.type === 'object' && !s.properties && s.additionalProperties === undefined && !s.$ref && !s.allOf && !s.oneOf && !s.anyOf) bare.push(where);
      for (const [k, v] of Object.entries(s.properties ?? {})) visit(`${where}.${k}`, v);
      visit(`${where}[]`, s.items);
    };
    for (const [name, s] of Object.entries(doc.components.schemas)) visit(name, s);
    expect(bare).toEqual([]);
  });

  it('documents a success response schema on every operation (204: no body)', () => {
    const missing = operations()
      .filter(({ op }) => !Object.entries(op.responses ?? {}).some(([code, r]) => code === '204' || (/^2\d\d$/.test(code) && Object.values(r.content ?? {}).some((c) => c.schema))))
      .map(({ id }) => id);
    expect(missing).toEqual([]);
    expect(operations().length).toBeGreaterThan(90);
  });

  it('documents every error response in the one error shape, and the common ones everywhere', () => {
    const wrong: string[] = [];
    for (const { op, id } of operations()) {
      for (const [code, r] of Object.entries(op.responses ?? {})) {
        if (Number(code) >= 400 && r.content?.['application/json']?.schema?.$ref !== '#/components/schemas/ErrorResponse') wrong.push(`${id} ${code}`);
      }
      for (const code of ['400', '401', '404', '429']) if (!op.responses?.[code]) wrong.push(`${id} lacks ${code}`);
    }
    expect(wrong).toEqual([]);
    expect(doc.components.schemas.ErrorResponse.properties?.error.properties?.code).toEqual({ type: 'string', description: expect.any(String) });
  });

  it('resolves every schema reference, and shows examples on the main operations', () => {
    const text = JSON.stringify(doc);
    const unresolved = [...new Set([...text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]))].filter((n) => !doc.components.schemas[n]);
    expect(unresolved).toEqual([]);
    const example = (id: string) => {
      const op = operations().find((o) => o.id === id)?.op;
      return Object.values(op?.responses ?? {}).some((r) => Object.values(r.content ?? {}).some((c) => c.example !== undefined));
    };
    for (const id of ['POST /v1/conversations/{id}/messages', 'POST /v1/conversations', 'POST /v1/users/{external_id}/tokens', 'POST /admin/tenants']) expect([id, example(id)]).toEqual([id, true]);
  });

  it('generates TypeScript types (openapi-typescript) that a small client type-checks against', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'openapi-ts-'));
    try {
      const root = path.resolve(__dirname, '..');
      await writeFile(path.join(dir, 'openapi.json'), JSON.stringify(doc));
      await promisify(execFile)(process.execPath, [path.join(root, 'node_modules/openapi-typescript/bin/cli.js'), 'openapi.json', '-o', 'api.d.ts'], { cwd: dir });
      await writeFile(path.join(dir, 'client.ts'), CLIENT);
      const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
      const compilerOptions = { noEmit: true, strict: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] };
      await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['client.ts'] }));
      const args = ['-p', 'tsconfig.json'];
      const out = await promisify(execFile)(process.execPath, [tsc, ...args], { cwd: dir }).then(
        () => '',
        (err: { stdout?: string }) => err.stdout ?? String(err),
      );
      expect(out).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

/** A client a Node or browser backend could write over the generated types (fails to compile if they are loose or wrong). */
const CLIENT = `
import type { components, paths } from './api';

type Json<P extends keyof paths, M extends 'get' | 'post' | 'put', S extends number> = paths[P][M] extends { responses: { [K in S]: { content: { 'application/json': infer T } } } } ? T : never;
type Message = components['schemas']['MessageView'];
type Sent = Json<'/v1/conversations/{id}/messages', 'post', 201>;
type History = Json<'/v1/conversations/{id}/messages', 'get', 200>;
type Token = Json<'/v1/users/{external_id}/tokens', 'post', 201>;
type Tenant = Json<'/admin/tenants', 'post', 201>;
type Failure = Json<'/v1/conversations/{id}/messages', 'post', 404>;

async function call<T>(url: string, init: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  return (await res.json()) as T;
}

export async function demo(base: string, apiKey: string, token: string): Promise<number> {
  const minted = await call<Token>(base + '/v1/users/alice/tokens', { method: 'POST', headers: { 'X-API-Key': apiKey } });
  const expires: string = minted.expires_at;
  const sent = await call<Sent>(base + '/v1/conversations/c1/messages', { method: 'POST', headers: { authorization: 'Bearer ' + token } });
  const seq: number = sent.seq;
  const content: string | undefined = sent.content?.encrypted_data;
  const history = await call<History>(base + '/v1/conversations/c1/messages', { headers: { authorization: 'Bearer ' + token } });
  const first: Message | undefined = history.data[0];
  const next: string | null = history.next_cursor;
  const tenant = await call<Tenant>(base + '/admin/tenants', { method: 'POST' });
  const connections: number = tenant.quotas.concurrent_connections;
  const failure = await call<Failure>(base + '/v1/conversations/c1/messages', { method: 'POST' });
  const code: string = failure.error.code;
  // @ts-expect-error the types are precise: a message has no such field
  const wrong = sent.no_such_field;
  return seq + connections + (first?.seq ?? 0) + expires.length + (content ?? '').length + (next ?? '').length + code.length + String(wrong).length;
}
`;
