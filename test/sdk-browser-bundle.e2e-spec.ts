/* The client SDK is usable from browsers: webpack bundles libs/sdk for the web target with no Node
 * polyfills (an import of a Node built-in fails the build), and the bundle runs in a context that has
 * only browser globals (no require, process or Buffer): keys, an encrypted message and its decryption.
 * Twice: from the sources, and from the npm package as an app installs it (`npm pack`, then
 * `npm install <tarball>` in a project outside the repository: its ESM build and its dependencies).
 * The bundle holds the package root and E2E v2 (`/mls`, with ts-mls): two MLS devices make a group,
 * one "reloads" from its state store, and both exchange messages and agree on a safety number. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import webpack from 'webpack';

jest.setTimeout(120_000);

const run = promisify(execFile);

/** The packed SDK installed into a fresh project; resolves to that project's directory. */
async function installPackedSdk(work: string): Promise<string> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await run(npm, ['pack', '--pack-destination', work], { cwd: join(__dirname, '..', 'libs', 'sdk'), timeout: 180_000 });
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'web-app', version: '1.0.0', private: true, type: 'module' }));
  await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: work, timeout: 180_000 });
  return work;
}

/**
 * ts-mls loads the algorithms of other ciphersuites with import() of optional packages that are not
 * installed, and @hpke/common (under ts-mls) imports Node's `crypto` when a runtime has no Web Crypto:
 * an app's bundler is told they are absent (webpack: alias / fallback to false), as the SDK README
 * says. Any other Node built-in still fails the build.
 */
const TS_MLS_OPTIONAL = ['@hpke/chacha20poly1305', '@hpke/hybridkem-x-wing', '@hpke/dhkem-x448', '@hpke/ml-kem', '@noble/post-quantum'];

/** The app's entry: the package root and the v2 subpath (as `v2`). */
function writeEntry(dir: string, root: string, mls: string): string {
  const path = join(dir, 'entry.js');
  writeFileSync(path, `export * from ${JSON.stringify(root)};\nexport * as v2 from ${JSON.stringify(mls)};\n`);
  return path;
}

function bundle(outDir: string, entry: { path: string; context?: string }): Promise<webpack.Stats> {
  const compiler = webpack({
    mode: 'production',
    target: 'web',
    ...(entry.context ? { context: entry.context } : {}),
    entry: entry.path,
    // One file (ts-mls's import() calls included): the context below loads one script, no chunks.
    output: { path: outDir, filename: 'sdk.js', library: { type: 'var', name: 'ChatSDK' }, asyncChunks: false },
    resolve: {
      extensions: ['.ts', '.js'],
      extensionAlias: { '.js': ['.ts', '.js'] },
      alias: Object.fromEntries(TS_MLS_OPTIONAL.map((m) => [m, false])),
      fallback: { crypto: false },
    },
    module: { rules: [{ test: /\.ts$/, use: join(__dirname, 'support', 'swc-webpack-loader.js') }] },
    performance: { hints: false },
    optimization: { minimize: false },
  });
  return new Promise((resolve, reject) => compiler.run((err, stats) => (err ? reject(err) : compiler.close(() => resolve(stats!)))));
}

describe('client SDK in a browser', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  type Entry = { path: string; context?: string };
  it.each<[string, () => Promise<Entry>]>([
    [
      'the sources',
      async () => {
        const src = join(__dirname, '..', 'libs', 'sdk', 'src');
        const dir = mkdtempSync(join(tmpdir(), 'sdk-web-src-'));
        return { path: writeEntry(dir, join(src, 'index.ts'), join(src, 'mls', 'index.ts')), context: dir };
      },
    ],
    [
      'the installed npm package',
      async () => {
        const app = await installPackedSdk(mkdtempSync(join(tmpdir(), 'sdk-web-app-')));
        return { path: writeEntry(app, '@chat-platform/sdk', '@chat-platform/sdk/mls'), context: app };
      },
    ],
  ])('bundles %s for the web without Node built-ins and encrypts/decrypts with only browser globals', async (_what, entryOf) => {
    const dir = mkdtempSync(join(tmpdir(), 'sdk-web-'));
    dirs.push(dir);
    const entry = await entryOf();
    if (entry.context) dirs.push(entry.context);
    const stats = await bundle(dir, entry);
    expect(stats.hasErrors() ? stats.toString({ all: false, errors: true }) : '').toBe('');
    const code = readFileSync(join(dir, 'sdk.js'), 'utf8');

    // What a page has: Web Crypto, TextEncoder, fetch, atob/btoa, timers. No require/process/Buffer.
    // TextEncoder/TextDecoder and Web Crypto's results are wrapped inside the context so their bytes are
    // the context's own Uint8Array / ArrayBuffer (a page has one realm; the host's would fail the
    // instanceof checks of the SDK and of @hpke under ts-mls).
    const sandbox: Record<string, unknown> = {
      HostCrypto: globalThis.crypto,
      HostTextEncoder: TextEncoder,
      HostTextDecoder: TextDecoder,
      fetch,
      atob,
      btoa,
      setTimeout,
      clearTimeout,
      console,
    };
    sandbox.window = sandbox;
    sandbox.self = sandbox;
    const ctx = createContext(sandbox);
    runInContext(
      `((HostTE, HostTD) => {
         globalThis.TextEncoder = class { encode(s) { return new Uint8Array(new HostTE().encode(s)); } };
         globalThis.TextDecoder = class { constructor(l, o) { this.d = new HostTD(l, o); } decode(b, o) { return this.d.decode(b, o); } };
       })(HostTextEncoder, HostTextDecoder);
       ((Host) => {
         // Buffers cross as views (the host's WebIDL takes an ArrayBuffer of its own realm only) and come back as this realm's.
         const isBuffer = (v) => Object.prototype.toString.call(v) === '[object ArrayBuffer]';
         const out = (v) => (isBuffer(v) ? new Uint8Array(new Uint8Array(v)).buffer : v);
         const arg = (v) => {
           if (isBuffer(v)) return new Uint8Array(v);
           if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isBuffer(x) ? new Uint8Array(x) : x]));
           return v;
         };
         const subtle = {};
         for (const f of ['encrypt', 'decrypt', 'sign', 'verify', 'digest', 'generateKey', 'deriveKey', 'deriveBits', 'importKey', 'exportKey', 'wrapKey', 'unwrapKey'])
           subtle[f] = async (...args) => out(await Host.subtle[f](...args.map(arg)));
         globalThis.crypto = { subtle, getRandomValues: (a) => Host.getRandomValues(a), randomUUID: () => Host.randomUUID() };
       })(HostCrypto);
       delete globalThis.HostTextEncoder; delete globalThis.HostTextDecoder; delete globalThis.HostCrypto;`,
      ctx,
    );
    runInContext(`${code}\n;globalThis.ChatSDK = ChatSDK;`, ctx);
    const result = runInContext(
      `(() => {
        const { createKeyring, getKeys, toPublicKeyBundle, encryptMessage, decryptMessage, bytesToUtf8 } = ChatSDK;
        const alice = createKeyring('alice-web');
        const bob = createKeyring('bob-web');
        const recipients = [
          { user_id: 'alice', ...toPublicKeyBundle(getKeys(alice)) },
          { user_id: 'bob', ...toPublicKeyBundle(getKeys(bob)) },
        ];
        const content = encryptMessage({ plaintext: 'hello from a page', type: 'text', conversationId: 'c1', senderId: 'alice', senderDevice: getKeys(alice), recipients });
        const opened = decryptMessage({ content, conversationId: 'c1', senderId: 'alice', myUserId: 'bob', myDevice: bob });
        return { typeofRequire: typeof require, typeofProcess: typeof process, typeofBuffer: typeof Buffer, text: bytesToUtf8(opened), hasSocket: typeof ChatSDK.ChatSocket, hasClient: typeof ChatSDK.ChatUserClient };
      })()`,
      ctx,
    );
    expect(result).toEqual({ typeofRequire: 'undefined', typeofProcess: 'undefined', typeofBuffer: 'undefined', text: 'hello from a page', hasSocket: 'function', hasClient: 'function' });

    // E2E v2 in the page: MLS through ts-mls on Web Crypto, state in a store that survives a "reload".
    const v2 = await runInContext(
      `(async () => {
        const { v2 } = ChatSDK;
        const id = (userId) => ({ tenantId: 'web', userId, deviceId: 'tab' });
        const text = (bytes) => new TextDecoder().decode(bytes);
        const store = new v2.InMemoryMlsStateStore();
        let alice = await v2.MlsClient.create(id('alice'), { store });
        const bob = await v2.MlsClient.create(id('bob'));
        const [kp] = await bob.generateKeyPackages(1);
        const group = await alice.createGroup();
        const add = await alice.addMembers(group, [kp]);
        alice.mergePendingCommit(group);
        await bob.joinFromWelcome(add.welcome);
        const first = text((await bob.receive(group, await alice.encrypt(group, 'mls in a page'))).plaintext);
        alice = await v2.MlsClient.create(id('alice'), { store });
        const second = text((await bob.receive(group, await alice.encrypt(group, 'after a reload'))).plaintext);
        const back = text((await alice.receive(group, await bob.encrypt(group, 'and back'))).plaintext);
        const seen = [bob, alice].map((c) => { const u = v2.usersFromCredentials(c.memberCredentials(group)); return v2.safetyNumber(u.get('alice'), u.get('bob')); });
        return { texts: [first, second, back], sameSafetyNumber: v2.sameSafetyNumber(seen[0], seen[1]), hasChat: typeof v2.MlsChat };
      })()`,
      ctx,
    );
    expect(v2).toEqual({ texts: ['mls in a page', 'after a reload', 'and back'], sameSafetyNumber: true, hasChat: 'function' });
  });
});
