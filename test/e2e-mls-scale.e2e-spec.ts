/* E2E v2 acceptance at scale (issue 12): a group of 1,000 members with 2 devices each, devices
 * simulated in process (ts-mls through the SDK), every key package published and claimed through the
 * REST Delivery Service, the group built by one device as the SDK does (one commit adding everyone).
 * A sample of devices joins (from the Welcome, and one by external commit) and decrypts what is sent;
 * the request that sends a 100-byte text stays under 1 KB whatever the group size, and no request a
 * sender makes carries a per-recipient key list. CPU-heavy (a 2,000-device commit is seconds of
 * ts-mls work): generous timeout, no timing asserts; it prints what it measured.
 *
 * Messages go through the DS message route (`POST /v1/conversations/:id/mls/messages`, an opaque MLS
 * PrivateMessage). When the v2 send path (epoch-key content on the ordinary message route) lands,
 * the sends here should move to it.
 *
 * Size: the acceptance size, 1,000 users x 2 devices, in the default suite too (MLS_SCALE_USERS
 * shrinks it for a quick run): 4 min 51 s with two CPU hogs on the shared 2-core machine
 * (bench/RESULTS.md, "The Delivery Service at this size"). Its earlier stalls were the usage roll-up's
 * bulk upserts, which FerretDB v1 never answered while holding all its PostgreSQL connections: fixed
 * in UsageRepository.markActiveUsers (test/usage-active-users.e2e-spec.ts).
 *
 * Every step runs under a watchdog: a step that stops making progress (the process idle for minutes:
 * a promise that will never settle) fails at once, naming the step and the requests still pending,
 * instead of the run sitting silent until the 30-minute timeout. */
import { performance } from 'node:perf_hooks';
import { ChatUserClient, HttpClient } from '@chat/sdk';
import * as mls from '../libs/sdk/src/mls';
import { appDiagnostics } from './support/app-diagnostics';
import { watchStep } from './support/step-watchdog';
import { createTestApp, TestApp } from './support/test-app';
import { tracedFetch } from './support/traced-fetch';
import { rid, sdkTenant, SdkTenant } from './e2e-helpers';

const USERS = Number(process.env.MLS_SCALE_USERS ?? 1000);
const DEVICES = ['a', 'b'];

jest.setTimeout(30 * 60_000);

/** Runs `fn` over `items`, at most `limit` at a time (thousands of requests, not thousands at once). */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

interface Sent {
  method: string;
  path: string;
  body: string;
  /** Request to response on loopback: for a commit, what the server takes to check and store it. */
  ms?: number;
}

/** Records every request body this client sends (what the server receives from it). */
function recording(http: HttpClient, log: Sent[]): HttpClient {
  const request = http.request.bind(http);
  http.request = (async (method: string, path: string, o: { body?: unknown } = {}) => {
    const entry: Sent = { method, path, body: o.body === undefined ? '' : JSON.stringify(o.body) };
    log.push(entry);
    const t0 = performance.now();
    const res = await request(method, path, o as never);
    entry.ms = performance.now() - t0;
    return res;
  }) as HttpClient['request'];
  return http;
}

describe(`MLS at scale: ${USERS} members x ${DEVICES.length} devices through the Delivery Service`, () => {
  let t: TestApp;
  let a: SdkTenant;
  beforeAll(async () => {
    // Default limits: a commit adding 2,000 devices carries ~2.4 MB of base64 (commit, Welcome,
    // GroupInfo with the ratchet tree), within the commit route's own MLS_COMMIT_BODY_LIMIT_BYTES.
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0' } });
    a = await sdkTenant(t);
  });
  afterAll(async () => t?.close());

  it('builds the group, sample devices join and decrypt, envelopes stay small and carry no key list', async () => {
    const ms = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const report: string[] = [];
    // Progress as it goes (a long run on a loaded machine shows where it is), the summary at the end.
    const note = (line: string) => {
      report.push(line);
      process.stdout.write(`[mls-scale] ${line}\n`);
    };
    // Every request of every client, to name the ones still pending when a step stalls.
    const traced = tracedFetch();
    const app = appDiagnostics(t);
    // MLS_SCALE_TRACE=<ms>: the same state printed every so often while it runs (to see where it waits).
    const trace = process.env.MLS_SCALE_TRACE ? setInterval(() => process.stdout.write(`[mls-scale] ${new Date().toISOString()}\n  requests pending: ${traced.pending().join(', ') || 'none'}\n  ${app.describe()}\n`), Number(process.env.MLS_SCALE_TRACE)) : undefined;
    trace?.unref();
    // An API error names the step and carries the server's details (a bare "validation failed" says too little).
    const named = <R>(name: string, fn: () => Promise<R>) => () =>
      fn().catch((err: unknown) => {
        const e = err as { status?: number; code?: string; details?: unknown; message?: string };
        throw e?.code ? new Error(`step "${name}": ${e.status} ${e.code} ${e.message} ${JSON.stringify(e.details ?? null)}`, { cause: err }) : err;
      });
    const step = <R>(name: string, fn: () => Promise<R>) =>
      watchStep(name, named(name, fn), {
        stallMs: Number(process.env.MLS_SCALE_STALL_MS ?? 3 * 60_000),
        diagnose: () => `requests pending: ${traced.pending().join(', ') || 'none'}\n  ${app.describe()}`,
      });
    let t0 = performance.now();
    const ids = Array.from({ length: USERS }, (_, i) => rid(`m${i}`));
    const clients = await step('users and tokens', async () => {
      for (let i = 0; i < ids.length; i += 1000) await a.server.upsertUsers(ids.slice(i, i + 1000).map((external_id) => ({ external_id })));
      // Big requests (the 2,000-device commit: ~3 s here) take long on a loaded machine: 5 minutes each.
      return pool(ids, 8, async (id) => new ChatUserClient({ baseUrl: t.url, token: (await a.server.issueUserToken(id)).token, timeoutMs: 5 * 60_000, fetch: traced.fetch }));
    });
    note(`users and tokens: ${ms(t0)}`);

    // Every device an MLS client; every device but the creator's publishes a key package.
    t0 = performance.now();
    const devices = await step('devices connect', () =>
      pool(
        clients.flatMap((c) => DEVICES.map((d) => ({ c, d }))),
        8,
        async ({ c, d }) => mls.MlsDevice.connect(c.http, d),
      ),
    );
    const creator = devices[0]!;
    // Everything user 0's devices send (the creator's and its second device's: they share one REST client).
    const sentByCreator: Sent[] = [];
    recording(creator.http, sentByCreator);
    await step('publish key packages', () => pool(devices.slice(1), 8, (d) => d.publishKeyPackages(1)));
    note(`${devices.length} devices, ${devices.length - 1} key packages published: ${ms(t0)}`);

    // The conversation (the creator's user owns it) and its MLS group: one commit adding every other device.
    const conv = await step('create conversation', () => clients[0]!.createConversation({ type: 'group', name: 'mls at scale', member_ids: ids.slice(1) }));
    expect(conv.member_count).toBe(USERS);
    t0 = performance.now();
    const groupId = await step('create group (claims, commit, post)', () => creator.createGroup(conv.id, ids));
    expect(creator.client.members(groupId)).toHaveLength(devices.length);
    const commitPost = sentByCreator.find((s) => s.path.endsWith('/mls/commits'))!;
    note(`group of ${devices.length} devices created (claims, commit, post): ${ms(t0)}`);
    note(`  its commit request: ${(commitPost.body.length / 1024).toFixed(0)} KB, answered in ${commitPost.ms!.toFixed(0)} ms`);

    // A sample joins from the Welcome: both devices of the second user, one of others across the tree.
    const every = Math.max(1, Math.floor(devices.length / 5));
    const sample = [devices[1]!, devices[2]!, devices[3]!, ...[every, 2 * every, 3 * every, devices.length - 1].map((i) => devices[i]!)];
    t0 = performance.now();
    for (const d of new Set(sample)) expect(await step('join from the Welcome', () => d.acceptWelcomes())).toEqual([conv.id]);
    const joined = [...new Set(sample)];
    note(`${joined.length} devices joined from the Welcome: ${ms(t0)}`);

    // A new device of an existing member joins by external commit; the others process it.
    note('external join: starting');
    t0 = performance.now();
    const late = await step('external join: connect', () => mls.MlsDevice.connect(clients[2]!.http, 'c'));
    expect(await step('external join', () => late.joinExternal(conv.id))).toBe(2);
    note(`external join (GroupInfo from the server): ${ms(t0)}`);
    t0 = performance.now();
    await step('creator processes the external commit', () => creator.sync(conv.id));
    for (const d of joined) await step('a member processes the external commit', () => d.sync(conv.id));
    expect(creator.client.epoch(groupId)).toBe(2n);
    note(`external commit processed by ${joined.length + 1} members: ${ms(t0)}`);

    // One more device added by a member's commit (what adding a member's new device costs the DS).
    const extra = await step('add one device: connect', () => mls.MlsDevice.connect(clients[3]!.http, 'd'));
    await step('add one device: publish', () => extra.publishKeyPackages(1));
    const extraKps = await step('add one device: claim', () => creator.claimKeyPackages(ids[3]!));
    expect(extraKps).toHaveLength(1); // the user's first two devices have no unclaimed package left
    t0 = performance.now();
    const addOut = await step('add one device: commit', () => creator.client.addMembers(groupId, extraKps));
    note(`add one device, commit made: ${ms(t0)}`);
    expect(await step('add one device: post', () => creator.postCommit(conv.id, addOut))).toBe(3);
    const addPost = sentByCreator.filter((s) => s.path.endsWith('/mls/commits')).at(-1)!;
    note(`  its commit request: ${(addPost.body.length / 1024).toFixed(0)} KB, answered in ${addPost.ms!.toFixed(0)} ms`);
    t0 = performance.now();
    for (const d of [...joined, late]) await step('a member processes the add', () => d.sync(conv.id));
    note(`that add processed by ${joined.length + 1} members: ${ms(t0)}`);

    // Messages flow both ways; every sample device decrypts them.
    const text = 'x'.repeat(100);
    const sent = await step('send', () => creator.send(conv.id, text));
    const fromLate = await step('send', () => late.send(conv.id, 'from the new device'));
    for (const d of joined) {
      const got = await step('a member syncs messages', () => d.sync(conv.id));
      expect(got.map((m) => [m.id, m.text])).toEqual([
        [sent.id, text],
        [fromLate.id, 'from the new device'],
      ]);
    }
    expect((await step('creator syncs messages', () => creator.sync(conv.id))).map((m) => m.text)).toEqual(['from the new device']);
    expect((await step('new device syncs messages', () => late.sync(conv.id))).map((m) => m.text)).toEqual([text]);

    // What the server received for the send: one small opaque message, no per-recipient anything.
    const sends = sentByCreator.filter((s) => s.method === 'POST' && s.path.endsWith('/mls/messages'));
    expect(sends).toHaveLength(1);
    const body = JSON.parse(sends[0]!.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['device_id', 'message']);
    expect(sends[0]!.body.length).toBeLessThan(1024);
    expect(mls.inspectGroupMessage(Buffer.from(body.message as string, 'base64'))).toMatchObject({ kind: 'application', groupId });
    for (const s of sentByCreator.filter((x) => !x.path.endsWith('/mls/commits'))) {
      // No request of the sender lists recipients or wrapped keys (the v1 envelope's `keys`).
      expect(s.body).not.toMatch(/"(keys|encrypted_key|recipients|wrapped_keys)"/);
    }
    note(`send request ${sends[0]!.body.length} B for a ${text.length}-byte text`);
    clearInterval(trace);
    process.stdout.write(`\nMLS at scale (${USERS} users x ${DEVICES.length} devices):\n  ${report.join('\n  ')}\n`);
  });
});
