/* The management CLI's failures and its default setup (issue 15), as operators run it: real processes
 * against the test FerretDB. Every failure is the one error shape with a non-zero exit; the default
 * setup reads the embedded object store under DATA_DIR. Set-up: test/support/ops-cli.ts. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtService } from '@nestjs/jwt';
import { mongo } from 'mongoose';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '@chat/dev-services';
import { base64ToBytes, bytesToUtf8, decryptMessage } from '../libs/sdk/src/crypto';
import { jsonError, opsCliSuite } from './support/ops-cli';

jest.setTimeout(180_000);

describe('management CLI: failures and the default setup (real processes, FerretDB)', () => {
  const { dbName, dir, cli, cliRaw, client, db } = opsCliSuite();

  it('rejects bad input with a message and exit code 1', async () => {
    const r = await cli(['restore', join(dir, 'no-such-archive.tar.gz')], { expectFail: true });
    expect(jsonError(r.stderr).error.message).toMatch(/no-such-archive/);
    const human = await cliRaw(['restore', join(dir, 'no-such-archive.tar.gz')]);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/^error: /m);
  });

  describe('failures and the default setup (issue 15)', () => {
    it('with --json every failure is the one error shape on stderr, stdout stays empty, exit code 1', async () => {
      const status = await cliRaw(['--json', 'tenants', '--status', 'bogus']);
      expect(status.code).toBe(1);
      expect(status.stdout).toBe('');
      expect(jsonError(status.stderr)).toEqual({ error: { code: 'validation_failed', message: expect.stringMatching(/active \| suspended \| deleted/), details: expect.anything() } });
      const usage = await cliRaw(['--json', 'tenants', '--no-such-option']);
      expect(usage.code).toBe(1);
      expect(jsonError(usage.stderr).error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/no-such-option/) });
      const human = await cliRaw(['tenants', '--status', 'bogus']);
      expect(human.code).toBe(1);
      expect(human.stderr).toMatch(/^error: .*active \| suspended \| deleted/m);
    });

    it('tenant export of a tenant that does not exist fails with not_found and writes nothing', async () => {
      const target = join(dir, 'nobody.tgz');
      const r = await cliRaw(['--json', 'tenant', 'export', new mongo.ObjectId().toHexString(), target]);
      expect(r.code).toBe(1);
      expect(jsonError(r.stderr).error.code).toBe('not_found');
      expect(() => statSync(target)).toThrow();
      const backup = await cliRaw(['--json', 'backup', join(dir, 'nobody-backup'), '--tenant', 'not-an-id']);
      expect(backup.code).toBe(1);
      expect(jsonError(backup.stderr).error.code).toBe('not_found');
    });

    it('every failure path exits non-zero with the error shape: unknown tenant on erase, usage errors, bad values', async () => {
      const unknown = new mongo.ObjectId().toHexString();
      const cases: Array<{ args: string[]; code: string }> = [
        { args: ['tenant', 'erase', unknown, '--yes'], code: 'not_found' },
        { args: ['tenant', 'erase', 'not-an-id', '--yes'], code: 'not_found' },
        { args: ['tenant', 'export', unknown, join(dir, 'x.tgz')], code: 'not_found' },
        { args: ['tenants', '--status', 'bogus'], code: 'validation_failed' },
        { args: ['no-such-command'], code: 'bad_request' },
        { args: ['tenant', 'erase'], code: 'bad_request' },
        { args: ['restore'], code: 'bad_request' },
        { args: ['seed', '--no-such-option'], code: 'bad_request' },
      ];
      for (const c of cases) {
        const r = await cliRaw(['--json', ...c.args]);
        expect([c.args.join(' '), r.code !== 0, r.stdout]).toEqual([c.args.join(' '), true, '']);
        expect([c.args.join(' '), jsonError(r.stderr).error.code]).toEqual([c.args.join(' '), c.code]);
      }
      // Without --json too: a non-zero exit and an `error:` line.
      const human = await cliRaw(['tenant', 'erase', unknown, '--yes']);
      expect(human.code).not.toBe(0);
      expect(human.stderr).toMatch(/^error: .*Tenant/m);
    }, 300_000);

    it('tenant export in the default setup (no S3_ENDPOINT) reads the file objects of the embedded store under DATA_DIR', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ops-cli-data-'));
      const tenantId = new mongo.ObjectId();
      await db.collection('clients').insertOne({ _id: tenantId, name: 'Files tenant', plan: 'pro', status: 'active', region: 'eu', created_at: new Date() });
      const key = `${tenantId.toHexString()}/file-1`;
      // What `npm start` left in DATA_DIR/s3: an object written through its embedded store (stopped since).
      const s3 = await startS3Server({ dir: join(dataDir, 's3'), bucket: 'chat-files', log: () => undefined });
      const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
      await client.send(new PutObjectCommand({ Bucket: 'chat-files', Key: key, Body: Buffer.from('ciphertext bytes') }));
      client.destroy();
      await s3.stop();
      await db.collection('files').insertOne({ tenant_id: tenantId.toHexString(), storage: { bucket: 'chat-files', key }, size: 16 });
      try {
        const target = join(dir, 'files-export');
        const r = await cliRaw(['--json', 'tenant', 'export', tenantId.toHexString(), target], {
          env: { DATA_DIR: dataDir },
          unset: ['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_BUCKET'],
        });
        expect(r).toMatchObject({ code: 0 });
        expect(JSON.parse(r.stdout).objects).toEqual({ count: 1, bytes: 16, missing: 0 });
        expect(readFileSync(join(target, 'objects', 'chat-files', key), 'utf8')).toBe('ciphertext bytes');
        expect(r.stderr).not.toMatch(/NodeVersionSupportWarning/); // not actionable (docs/operations.md)
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('restore honours MONGODB_DB, and a restore over existing documents is a clear conflict, not a raw E11000', async () => {
      const source = `${dbName}_src`;
      const other = `${dbName}_other`;
      try {
        await client.db(source).collection('clients').insertOne({ _id: new mongo.ObjectId(), name: 'Moved', status: 'active' });
        const archive = join(dir, 'moved.tgz');
        expect((await cliRaw(['--json', 'backup', archive], { env: { MONGODB_DB: source } })).code).toBe(0);
        const r = await cliRaw(['--json', 'restore', archive], { env: { MONGODB_DB: other } });
        expect(r.code).toBe(0);
        expect(new Set(JSON.parse(r.stdout).collections.map((c: { db: string }) => c.db))).toEqual(new Set([other]));
        expect(await client.db(other).collection('clients').countDocuments({ name: 'Moved' })).toBe(1);
        const again = await cliRaw(['--json', 'restore', archive], { env: { MONGODB_DB: other } });
        expect(again.code).toBe(1);
        expect(again.stderr).not.toMatch(/E11000/);
        expect(jsonError(again.stderr).error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/--drop/) });
      } finally {
        await client.db(source).dropDatabase().catch(() => undefined);
        await client.db(other).dropDatabase().catch(() => undefined);
      }
    });

    it('seed is idempotent and keeps the demo device keys (0600) so a client can read the seeded messages', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ops-cli-seed-'));
      const env = { DATA_DIR: dataDir };
      try {
        const args = ['--json', 'seed', '--name', 'Idempotent demo', '--users', '2', '--conversations', '1', '--messages', '2'];
        const first = await cliRaw(args, { env });
        expect(first.code).toBe(0);
        const seeded = JSON.parse(first.stdout);
        expect(seeded).toMatchObject({ created: true, devices_file: join(dataDir, 'demo-devices.json') });
        // A chat-app sign-in link per demo user: a short-lived token of the demo application in the fragment.
        expect(seeded.sign_in_links.map((l: { user_id: string }) => l.user_id)).toEqual(seeded.users);
        for (const link of seeded.sign_in_links as Array<{ user_id: string; url: string; expires_at: string }>) {
          const m = /^http:\/\/[^/]+\/app#token=(.+)$/.exec(link.url);
          expect(m).not.toBeNull();
          const claims = new JwtService().verify(decodeURIComponent(m![1]!), { secret: seeded.app_secret, algorithms: ['HS256'] });
          expect(claims).toMatchObject({ sub: link.user_id, tid: seeded.tenant_id, aid: seeded.application_id });
          expect(claims.exp - claims.iat).toBeLessThanOrEqual(3600);
        }
        const second = await cliRaw(args, { env });
        expect(second.code).toBe(0);
        expect(JSON.parse(second.stdout)).toMatchObject({ created: false, tenant_id: seeded.tenant_id, api_key: seeded.api_key });
        expect(await db.collection('clients').countDocuments({ name: 'Idempotent demo' })).toBe(1);
        expect(await db.collection('messages').countDocuments({ tenant_id: seeded.tenant_id })).toBe(2);
        // The demo devices are in the key directory, so a browser signed in as a demo user can encrypt for the others.
        expect(await db.collection('device_keys').countDocuments({ tenant_id: seeded.tenant_id })).toBe(2);

        const file = join(dataDir, 'demo-devices.json');
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const demo = JSON.parse(readFileSync(file, 'utf8')).tenants[seeded.tenant_id];
        expect(demo).toMatchObject({ tenant_id: seeded.tenant_id, api_key: seeded.api_key });
        const msg = await db.collection('messages').findOne({ tenant_id: seeded.tenant_id });
        const me = demo.users.find((u: { user_id: string }) => u.user_id !== msg!.sender_id) ?? demo.users[0];
        const plain = decryptMessage({
          content: msg!.content,
          conversationId: String(msg!.conversation_id),
          senderId: msg!.sender_id,
          myUserId: me.user_id,
          myDevice: {
            device_id: me.device_id,
            key_version: me.key_version,
            agreement: { publicKey: base64ToBytes(me.agreement.public_key), secretKey: base64ToBytes(me.agreement.secret_key) },
          },
        });
        expect(bytesToUtf8(plain)).toMatch(/^Hello from demo-user-/);
        const human = await cliRaw(['seed', '--name', 'Idempotent demo'], { env });
        expect(human.stdout).toMatch(/demo-devices\.json/);
        expect(human.stdout).toMatch(/\/v1\/users\/demo-user-1\/tokens/);
        expect(human.stdout).toMatch(/demo-user-1: http:\/\/\S+\/app#token=\S+/);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
        await db.collection('clients').deleteMany({ name: 'Idempotent demo' });
      }
    });
  });
});
