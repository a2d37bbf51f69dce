/* The SDK as users get it: `npm pack` of libs/sdk, installed from the tarball into fresh projects
 * outside the repository (ESM type-checked with "module": "nodenext", and CommonJS), each running a
 * real round trip against the server: users, a token (fetched once for eleven requests), a conversation
 * seen by its creator, and an encrypted message decrypted by its recipient. Then E2E v2 from the
 * `/mls` subpath: two MlsChat devices over MLS, one with a state store restarted in between (it goes on
 * without joining again), and a safety number over the group's credentials. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestApp, TestApp } from './support/test-app';
import { createTenant, TestTenant } from './support/factories';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

jest.setTimeout(240_000);

/** The same round trip in both module systems; `sdk` is the package's namespace. */
const ROUND_TRIP = `
  const env = process.env;
  const server = new sdk.ChatServerClient({ baseUrl: env.BASE_URL, apiKey: env.API_KEY });
  await server.upsertUser('pkg-alice', { profile: { display_name: 'Alice' } });
  await server.upsertUser('pkg-bob');
  let mints = 0;
  const alice = new sdk.ChatUserClient({ baseUrl: env.BASE_URL, token: async () => { mints++; return server.issueUserToken('pkg-alice'); } });
  const conv = await alice.createConversation({ type: 'group', name: 'from the package', member_ids: ['pkg-bob'] });
  const pages = await Promise.all(Array.from({ length: 10 }, () => alice.listConversations()));
  const listed = pages.every((p) => p.data.some((c) => c.id === conv.id));
  const a = sdk.generateDeviceKeys({ deviceId: 'a1' });
  const b = sdk.generateDeviceKeys({ deviceId: 'b1' });
  const content = sdk.encryptMessage({ plaintext: 'hello from the package', type: 'text', conversationId: conv.id, senderId: 'pkg-alice',
    senderDevice: { device_id: a.device_id, key_version: a.key_version },
    recipients: [{ user_id: 'pkg-bob', device_id: b.device_id, key_version: b.key_version, public_key: b.agreement.publicKey }] });
  const text = sdk.bytesToUtf8(sdk.decryptMessage({ content, conversationId: conv.id, senderId: 'pkg-alice', myUserId: 'pkg-bob', myDevice: b }));
  console.log(JSON.stringify({ conversation: conv.id, listed, text, mints }));
`;

/** E2E v2 from `@chat-platform/sdk/mls` (namespace `v2`), with `sdk` for the REST clients. */
const V2_ROUND_TRIP = `
  const env = process.env;
  const server = new sdk.ChatServerClient({ baseUrl: env.BASE_URL, apiKey: env.API_KEY });
  const [carolId, danId] = ['pkg-carol-' + env.SUFFIX, 'pkg-dan-' + env.SUFFIX];
  await server.upsertUser(carolId);
  await server.upsertUser(danId);
  const user = async (id: string) => new sdk.ChatUserClient({ baseUrl: env.BASE_URL, token: (await server.issueUserToken(id)).token });
  const textOf = (r: v2.MlsReceivedMessage) => (r.kind === 'message' && r.payload.kind === 'text' ? r.payload.text : null);
  const carol = await user(carolId);
  const conv = await carol.createConversation({ type: 'group', name: 'v2 from the package', member_ids: [danId] });
  const store: v2.MlsStateStore = new v2.InMemoryMlsStateStore();
  const carolChat = await v2.MlsChat.create({ client: carol, deviceId: 'c1', store });
  const danChat = await v2.MlsChat.create({ client: await user(danId), deviceId: 'd1' });
  await danChat.open(conv.id);
  const first = await carolChat.sendText(conv.id, 'hello over MLS');
  const epoch = carolChat.epoch(conv.id);
  const restarted = await v2.MlsChat.create({ client: await user(carolId), deviceId: 'c1', store });
  const second = await restarted.sendText(conv.id, 'after a restart');
  const texts = [textOf(await danChat.receive(first)), textOf(await danChat.receive(second)), textOf(await restarted.receive(first))];
  const users = v2.usersFromCredentials(danChat.mls.memberCredentials(danChat.groupId(conv.id)!));
  const safety = v2.safetyNumber(users.get(carolId)!, users.get(danId)!);
  console.log(JSON.stringify({ texts, sameEpoch: restarted.epoch(conv.id) === epoch, safetyDigits: safety.replace(/ /g, '').length }));
`;
const V2_EXPECTED = { texts: ['hello over MLS', 'after a restart', 'hello over MLS'], sameEpoch: true, safetyDigits: 60 };
/** The same code as JavaScript (the CommonJS project runs it untyped). */
const untyped = (ts: string) => ts.replace(/\(id: string\)/g, '(id)').replace(/\(r: v2\.MlsReceivedMessage\)/g, '(r)').replace(/const store: v2\.MlsStateStore =/g, 'const store =').replace(/!\)/g, ')').replace(/\)!/g, ')');

describe('SDK package (npm pack, installed outside the repository)', () => {
  let t: TestApp;
  let tenant: TestTenant;
  const work = mkdtempSync(join(tmpdir(), 'sdk-pkg-'));
  let tarball: string;

  async function npm(cwd: string, args: string[]): Promise<string> {
    const { stdout } = await run(NPM, args, { cwd, maxBuffer: 16 * 1024 * 1024, timeout: 180_000 });
    return stdout;
  }

  /** A project of its own with the tarball installed (dependencies from the npm cache when it has them). */
  async function project(name: string, pkg: Record<string, unknown>): Promise<string> {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...pkg }, null, 2));
    await npm(dir, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball]);
    return dir;
  }

  beforeAll(async () => {
    t = await createTestApp();
    tenant = await createTenant(t);
    await npm(join(ROOT, 'libs', 'sdk'), ['pack', '--pack-destination', work]); // prepack builds dist/
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const env = () => ({ ...process.env, BASE_URL: t.url, API_KEY: tenant.apiKey });

  it('an ESM project with "module": "nodenext" type-checks against it (strict, its declarations checked too) and runs the round trip', async () => {
    const dir = await project('esm-consumer', { type: 'module' });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [], strict: true, skipLibCheck: false, outDir: 'out' }, include: ['index.ts'] }),
    );
    writeFileSync(
      join(dir, 'index.ts'),
      `import * as sdk from '@chat-platform/sdk';\ndeclare const process: { env: Record<string, string> };\n${ROUND_TRIP}\nexport {};\n`,
    );
    await run(process.execPath, [TSC, '-p', dir], { cwd: dir }).catch((e: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${e.stdout}`);
    });
    const { stdout } = await run(process.execPath, [join(dir, 'out', 'index.js')], { cwd: dir, env: env() });
    expect(JSON.parse(stdout)).toEqual({ conversation: expect.any(String), listed: true, text: 'hello from the package', mints: 1 });

    // E2E v2 from the subpath, type-checked the same way.
    writeFileSync(
      join(dir, 'v2.ts'),
      `import * as sdk from '@chat-platform/sdk';\nimport * as v2 from '@chat-platform/sdk/mls';\ndeclare const process: { env: Record<string, string> };\n${V2_ROUND_TRIP}\nexport {};\n`,
    );
    writeFileSync(join(dir, 'tsconfig.json'), readFileSync(join(dir, 'tsconfig.json'), 'utf8').replace('["index.ts"]', '["index.ts", "v2.ts"]'));
    await run(process.execPath, [TSC, '-p', dir], { cwd: dir }).catch((e: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${e.stdout}`);
    });
    const v2 = await run(process.execPath, [join(dir, 'out', 'v2.js')], { cwd: dir, env: { ...env(), SUFFIX: 'esm' } });
    expect(JSON.parse(v2.stdout)).toEqual(V2_EXPECTED);
  });

  it('a CommonJS project require()s it and runs the round trip', async () => {
    const dir = await project('cjs-consumer', { type: 'commonjs' });
    writeFileSync(join(dir, 'index.js'), `const sdk = require('@chat-platform/sdk');\n(async () => {\n${ROUND_TRIP}\n})().catch((e) => { console.error(e); process.exit(1); });\n`);
    const { stdout } = await run(process.execPath, [join(dir, 'index.js')], { cwd: dir, env: env() });
    expect(JSON.parse(stdout)).toEqual({ conversation: expect.any(String), listed: true, text: 'hello from the package', mints: 1 });

    writeFileSync(
      join(dir, 'v2.js'),
      `const sdk = require('@chat-platform/sdk');\nconst v2 = require('@chat-platform/sdk/mls');\n(async () => {\n${untyped(V2_ROUND_TRIP)}\n})().catch((e) => { console.error(e); process.exit(1); });\n`,
    );
    const v2 = await run(process.execPath, [join(dir, 'v2.js')], { cwd: dir, env: { ...env(), SUFFIX: 'cjs' } });
    expect(JSON.parse(v2.stdout)).toEqual(V2_EXPECTED);
  });
});
