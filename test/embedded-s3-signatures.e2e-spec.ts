import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { encryptFile, md5Base64 } from '@chat/sdk';
import { createTestApp, TestApp } from './support/test-app';
import { testBucket, testS3Client } from './support/s3';
import { rid, sdkTenant, SdkTenant } from './e2e-helpers';

/**
 * The embedded object store (s3rver behind the SigV4-verifying front of libs/dev-services) answers
 * only requests signed with its credentials for that exact method, path and query: an end user who
 * reads the store's address off their own presigned URL can neither list, read, write nor delete
 * another tenant's objects with plain HTTP, a forged signature or a URL signed for something else.
 */
describe('embedded S3 store refuses requests not signed for them', () => {
  let t: TestApp;
  let a: SdkTenant;
  let b: SdkTenant;
  const s3 = testS3Client();
  const endpoint = () => process.env.S3_ENDPOINT!;
  const bucket = testBucket();

  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0', RETENTION_INTERVAL_SECONDS: '0' } });
    [a, b] = await Promise.all([sdkTenant(t), sdkTenant(t)]);
  });
  afterAll(async () => {
    s3.destroy();
    await t?.close();
  });

  /** Status, S3 error code (from the XML body) and body of a plain HTTP request. */
  async function plain(url: string, init: RequestInit = {}): Promise<{ status: number; code: string | null; body: string }> {
    const res = await fetch(url, init);
    const body = await res.text();
    return { status: res.status, code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? null, body };
  }

  /** A ready file of the victim tenant, uploaded through its own presigned URL; returns the object URL and bytes. */
  async function victimObject(): Promise<{ key: string; objectUrl: string; bytes: Uint8Array; uploadUrl: string; headers: Record<string, string> }> {
    const u = rid('victim');
    const { [u]: c } = await b.users([u]);
    const bytes = encryptFile(randomBytes(500)).ciphertext;
    const ticket = await c.createUpload({
      size: bytes.length,
      checksum: createHash('sha256').update(bytes).digest('hex'),
      content_md5: md5Base64(bytes),
      mime_type: 'application/octet-stream',
      sharing: { type: 'private' },
      encryption: { algorithm: 'xchacha20poly1305-file-v1' },
    });
    const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: bytes as unknown as BodyInit });
    await put.text();
    expect(put.status).toBe(200); // the legitimate presigned upload goes through
    expect((await c.confirmUpload(ticket.file.id)).status).toBe('ready');
    const objectUrl = ticket.upload.url.split('?')[0];
    const key = decodeURIComponent(new URL(objectUrl).pathname.slice(`/${bucket}/`.length));
    return { key, objectUrl, bytes, uploadUrl: ticket.upload.url, headers: ticket.upload.headers };
  }

  /** The stored bytes, read with the server's credentials. */
  async function stored(key: string): Promise<Uint8Array> {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body!.transformToByteArray();
  }

  it('refuses unsigned list, read, write and delete at the address users see in their upload URLs', async () => {
    const v = await victimObject();
    // The attacker (tenant a) learns the store's address from their own ticket.
    const u = rid('attacker');
    const { [u]: attacker } = await a.users([u]);
    const mine = await attacker.createUpload({
      size: 3,
      checksum: 'a'.repeat(64),
      content_md5: md5Base64(new Uint8Array([1, 2, 3])),
      mime_type: 'application/octet-stream',
      sharing: { type: 'private' },
      encryption: { algorithm: 'xchacha20poly1305-file-v1' },
    });
    const origin = new URL(mine.upload.url).origin;
    expect(origin).toBe(new URL(endpoint()).origin);
    const victimPrefix = v.key.split('/').slice(0, 2).join('/') + '/';

    const list = await plain(`${origin}/${bucket}?list-type=2&prefix=${encodeURIComponent(victimPrefix)}`);
    expect(list).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(list.body).not.toContain(v.key);
    expect(await plain(`${origin}/${bucket}`)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await plain(`${origin}/`)).toMatchObject({ status: 403, code: 'AccessDenied' });

    const read = await plain(v.objectUrl);
    expect(read).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect((await fetch(v.objectUrl, { method: 'HEAD' })).status).toBe(403);

    expect(await plain(v.objectUrl, { method: 'PUT', body: 'overwritten' })).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await plain(`${origin}/${bucket}/${victimPrefix}planted`, { method: 'PUT', body: 'x' })).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await plain(v.objectUrl, { method: 'DELETE' })).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await plain(`${origin}/${bucket}?delete`, { method: 'POST', body: `<Delete><Object><Key>${v.key}</Key></Object></Delete>` })).toMatchObject({ status: 403 });

    // The attacker's own valid upload URL, plus an unsigned x-amz-copy-source naming the victim's
    // object: S3 refuses unsigned x-amz-* headers, else this would copy the victim's object to the attacker's key.
    const copy = await plain(mine.upload.url, { method: 'PUT', headers: { ...mine.upload.headers, 'x-amz-copy-source': `/${bucket}/${v.key}` }, body: new Uint8Array([1, 2, 3]) });
    expect(copy).toMatchObject({ status: 403, code: 'AccessDenied' });
    const mineKey = decodeURIComponent(new URL(mine.upload.url).pathname.slice(`/${bucket}/`.length));
    await expect(stored(mineKey)).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });

    // Nothing changed.
    expect(Buffer.from(await stored(v.key)).equals(Buffer.from(v.bytes))).toBe(true);
  });

  it('refuses a wrong signature, a presigned URL reused for another key or method, and an expired one', async () => {
    const v = await victimObject();
    const url = new URL(v.uploadUrl);
    const sig = url.searchParams.get('X-Amz-Signature')!;
    const forged = new URL(url);
    forged.searchParams.set('X-Amz-Signature', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
    expect(await plain(forged.toString(), { method: 'PUT', headers: v.headers, body: v.bytes as unknown as BodyInit })).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });

    // The same signed query on another key of the same prefix, or with another method.
    const otherKey = new URL(url);
    otherKey.pathname = url.pathname.replace(/[^/]+$/, 'other-object');
    expect(await plain(otherKey.toString(), { method: 'PUT', headers: v.headers, body: v.bytes as unknown as BodyInit })).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await plain(v.uploadUrl, { method: 'GET' })).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await plain(v.uploadUrl, { method: 'DELETE' })).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    // Other bytes of another length than the signed Content-Length.
    expect(await plain(v.uploadUrl, { method: 'PUT', headers: v.headers, body: 'shorter' })).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });

    // Header-signed requests with the wrong secret, or a key the store does not know.
    const wrong = (accessKeyId: string, secretAccessKey: string) =>
      new S3Client({ endpoint: endpoint(), region: process.env.S3_REGION ?? 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    for (const [client, code] of [
      [wrong(process.env.S3_ACCESS_KEY_ID!, 'not-the-secret'), 'SignatureDoesNotMatch'],
      [wrong('SOMEONE-ELSE', 'not-the-secret'), 'InvalidAccessKeyId'],
    ] as const) {
      await expect(client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 't/' }))).rejects.toMatchObject({ name: code, $metadata: { httpStatusCode: 403 } });
      await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: v.key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
      client.destroy();
    }

    // A correctly signed PUT whose body is swapped after signing (the signed x-amz-content-sha256 no longer matches): refused, nothing stored.
    const tamperer = testS3Client();
    tamperer.middlewareStack.addRelativeTo(
      ((next: (a: { request: { body?: unknown } }) => Promise<unknown>) => async (args: { request: { body?: unknown } }) => {
        args.request.body = Buffer.from('tampered!');
        return next(args);
      }) as never,
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'swapBodyAfterSigning' } as never,
    );
    const tamperedKey = `${v.key}-tampered`;
    await expect(tamperer.send(new PutObjectCommand({ Bucket: bucket, Key: tamperedKey, Body: Buffer.from('original!') }))).rejects.toMatchObject({ name: 'XAmzContentSHA256Mismatch', $metadata: { httpStatusCode: 400 } });
    tamperer.destroy();
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: tamperedKey }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    // Untampered, the server's own kind of call goes through.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: tamperedKey, Body: Buffer.from('original!') }));
    expect(Buffer.from(await stored(tamperedKey)).toString()).toBe('original!');

    // Correctly signed but expired (signed an hour ago for 60 s): refused; the same, fresh: served.
    const get = new GetObjectCommand({ Bucket: bucket, Key: v.key });
    const expired = await getSignedUrl(s3, get, { expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) });
    expect(await plain(expired)).toMatchObject({ status: 403, code: 'AccessDenied' });
    const fresh = await fetch(await getSignedUrl(s3, get, { expiresIn: 60 }));
    expect(fresh.status).toBe(200);
    expect(Buffer.from(await fresh.arrayBuffer()).equals(Buffer.from(v.bytes))).toBe(true);

    expect(Buffer.from(await stored(v.key)).equals(Buffer.from(v.bytes))).toBe(true);
  });

  it("answers a browser's CORS preflight for a presigned URL (no credentials in it), then the signed PUT itself", async () => {
    const u = rid('browser');
    const { [u]: c } = await a.users([u]);
    const bytes = encryptFile(randomBytes(300)).ciphertext;
    const ticket = await c.createUpload({
      size: bytes.length,
      checksum: createHash('sha256').update(bytes).digest('hex'),
      content_md5: md5Base64(bytes),
      mime_type: 'application/octet-stream',
      sharing: { type: 'private' },
      encryption: { algorithm: 'xchacha20poly1305-file-v1' },
    });
    const origin = 'http://127.0.0.1:1';
    const pre = await fetch(ticket.upload.url, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-md5,content-type' } });
    await pre.text();
    expect(pre.status).toBe(200);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toContain('PUT');
    const put = await fetch(ticket.upload.url, { method: 'PUT', headers: { ...ticket.upload.headers, Origin: origin }, body: bytes as unknown as BodyInit });
    await put.text();
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe('*');
  });
});
