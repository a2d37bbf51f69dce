/* docs/getting-started.md as CI runs it, so the guide cannot rot: every `bash` block of the page, in
 * order, as one script (set -euo pipefail) against a freshly started all-in-one server (a real process,
 * the way `npm start` runs it, with a generated first admin), then every `js` block as the file its first
 * comment names, importing `@chat-platform/sdk` built from libs/sdk. The last one has two users exchange
 * an end-to-end encrypted message. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { mongo } from 'mongoose';
import { findFreePort } from '@chat/dev-services';
import { AppProcess, spawnAllInOne } from './support/app-process';
import { waitFor } from './support/wait-for';

jest.setTimeout(300_000);
const run = promisify(execFile);
const ROOT = join(__dirname, '..');

/** The runnable blocks of the guide, in order (```sh blocks are what the reader types in another terminal: not run). */
function guideBlocks(markdown: string): Array<{ lang: 'bash' | 'js'; code: string; file?: string }> {
  return [...markdown.matchAll(/^```(bash|js)\n([\s\S]*?)^```$/gm)].map((m) => {
    const lang = m[1] as 'bash' | 'js';
    const file = lang === 'js' ? /^\/\/ (\S+\.mjs)/.exec(m[2])?.[1] : undefined;
    return { lang, code: m[2], file };
  });
}

describe('docs/getting-started.md runs as written', () => {
  const dbName = `getting_started_${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'getting-started-data-'));
  // Under the repository's node_modules, so the built SDK resolves its dependencies (@noble/*, socket.io-client) there.
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, 'getting-started-'));
  let app: AppProcess | undefined;

  afterAll(async () => {
    if (app && app.child.exitCode === null) {
      app.child.kill('SIGTERM');
      await app.exited;
    }
    const client = await mongo.MongoClient.connect(process.env.MONGODB_URI!);
    await client.db(dbName).dropDatabase().catch(() => undefined);
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('from npm start to two users chatting end to end: curl for the server half, the SDK for the client half', async () => {
    const blocks = guideBlocks(readFileSync(join(ROOT, 'docs', 'getting-started.md'), 'utf8'));
    expect(blocks.filter((b) => b.lang === 'bash').length).toBeGreaterThanOrEqual(4);
    expect(blocks.filter((b) => b.lang === 'js').map((b) => b.file)).toEqual(['mint-token.mjs', 'check-token.mjs', 'chat.mjs']);

    // The SDK as the guide's project imports it: libs/sdk's package.json and a fresh build (JS only).
    const pkg = join(work, 'node_modules', '@chat-platform', 'sdk');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), readFileSync(join(ROOT, 'libs', 'sdk', 'package.json')));
    const build = run(process.execPath, [join(ROOT, 'node_modules', 'tsup', 'dist', 'cli-default.js'), '--silent', '--no-dts', '--out-dir', join(pkg, 'dist')], {
      cwd: join(ROOT, 'libs', 'sdk'),
      timeout: 240_000,
    });

    const port = await findFreePort();
    app = spawnAllInOne({
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      MONGODB_DB: dbName,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      // As on a first `npm start`: the admin's password is generated into DATA_DIR/initial-admin.txt.
      ADMIN_BOOTSTRAP_EMAIL: '',
      ADMIN_BOOTSTRAP_PASSWORD: '',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => app!.stdout().includes(`${base}/docs`) || app!.child.exitCode !== null, { timeoutMs: 120_000, intervalMs: 100, what: 'the server start' });
    expect(app.child.exitCode).toBeNull();
    await build;

    // `node` of the guide is this test's node.
    const env = { ...process.env, BASE: base, DATA_DIR: dataDir, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
    const script = ['set -euo pipefail', ...blocks.filter((b) => b.lang === 'bash').map((b) => b.code), 'node -e "process.stdout.write(JSON.stringify(process.env))" > guide-env.json'].join('\n');
    writeFileSync(join(work, 'guide.sh'), script);
    const shell = await run('bash', ['guide.sh'], { cwd: work, env, timeout: 120_000 }).catch((err: { stderr?: string; stdout?: string }) => {
      throw new Error(`the guide's curl steps failed:\n${err.stderr}\n${err.stdout}`);
    });
    expect(shell.stdout).toMatch(/^\d{4}-\d\d-\d\dT/m); // the server-minted token's expires_at
    const guideEnv = JSON.parse(readFileSync(join(work, 'guide-env.json'), 'utf8')) as Record<string, string>;
    for (const k of ['TENANT_ID', 'APP_ID', 'APP_SECRET', 'API_KEY', 'CONVERSATION_ID']) expect([k, Boolean(guideEnv[k])]).toEqual([k, true]);

    for (const b of blocks.filter((x) => x.lang === 'js')) writeFileSync(join(work, b.file!), b.code);
    const node = (file: string) =>
      run(process.execPath, [file], { cwd: work, env: { ...env, ...guideEnv }, timeout: 120_000 }).catch((err: { stderr?: string; stdout?: string }) => {
        throw new Error(`${file} failed:\n${err.stderr}\n${err.stdout}`);
      });
    expect((await node('check-token.mjs')).stdout).toContain('alice is alice');
    const chat = await node('chat.mjs');
    expect(chat.stdout).toContain('bob read: Hello Bob, only you can read this (signature verified: true)');
    // What the server stored is the envelope, not the text.
    expect(chat.stdout).toMatch(/stored on the server as \S+ seq 1/);
  });
});
