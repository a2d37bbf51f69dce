import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, SignedRequest, SigV4Verifier } from './s3-signature';

const creds = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret-of-the-store' };
const host = '127.0.0.1:9000';
const now = new Date('2026-03-04T05:06:07Z');
const EMPTY = createHash('sha256').update('').digest('hex');

const signer = (c = creds) => new SignatureV4({ credentials: c, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false });

function toRaw(path: string, query: Record<string, string | string[] | null> = {}): string {
  const parts = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v ?? ''))}`);
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

async function headerSigned(method: string, path: string, query: Record<string, string> = {}, opts: { at?: Date; c?: typeof creds; headers?: Record<string, string> } = {}): Promise<SignedRequest> {
  const signed = await signer(opts.c).sign(
    { method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query, headers: { host, 'x-amz-content-sha256': EMPTY, ...opts.headers } },
    { signingDate: opts.at ?? now },
  );
  return { method, rawUrl: toRaw(path, query), headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])) };
}

async function presigned(method: string, path: string, opts: { at?: Date; expiresIn?: number; query?: Record<string, string> } = {}): Promise<SignedRequest> {
  const out = await signer().presign(
    // As @aws-sdk/s3-request-presigner: the payload is UNSIGNED-PAYLOAD (hoisted into the query).
    { method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query: opts.query ?? {}, headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
    { signingDate: opts.at ?? now, expiresIn: opts.expiresIn ?? 300 },
  );
  return { method, rawUrl: toRaw(path, out.query as Record<string, string>), headers: { host } };
}

describe('SigV4Verifier', () => {
  const v = new SigV4Verifier(creds);

  it('accepts a header-signed request, exactly as signed, and forwards its query', async () => {
    const req = await headerSigned('GET', '/bucket', { 'list-type': '2', prefix: 't/abc/' });
    expect(await v.verify(req, now)).toEqual({ ok: true, payloadHash: EMPTY, forwardUrl: '/bucket?list-type=2&prefix=t%2Fabc%2F' });
  });

  it('refuses the same signature on another path, method or query', async () => {
    const req = await headerSigned('GET', '/bucket/t/a/f/1');
    for (const forged of [
      { ...req, rawUrl: '/bucket/t/b/f/1' },
      { ...req, method: 'DELETE' },
      { ...req, rawUrl: `${req.rawUrl}?acl` },
    ]) {
      expect(await v.verify(forged, now)).toMatchObject({ ok: false, status: 403, code: 'SignatureDoesNotMatch' });
    }
  });

  it('refuses a signed header that is missing, changed, or an x-amz-* header that is not signed', async () => {
    const req = await headerSigned('PUT', '/bucket/k', {}, { headers: { 'content-type': 'text/plain' } });
    const { 'content-type': _ct, ...without } = req.headers;
    expect(await v.verify({ ...req, headers: without }, now)).toMatchObject({ code: 'SignatureDoesNotMatch' });
    expect(await v.verify({ ...req, headers: { ...req.headers, 'content-type': 'text/html' } }, now)).toMatchObject({ code: 'SignatureDoesNotMatch' });
    expect(await v.verify({ ...req, headers: { ...req.headers, 'x-amz-copy-source': '/bucket/other' } }, now)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('refuses unsigned requests, unknown keys, wrong secrets, two mechanisms and skewed clocks', async () => {
    expect(await v.verify({ method: 'GET', rawUrl: '/bucket?list-type=2', headers: { host } }, now)).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(await v.verify(await headerSigned('GET', '/bucket', {}, { c: { accessKeyId: 'OTHER', secretAccessKey: 'x' } }), now)).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
    expect(await v.verify(await headerSigned('GET', '/bucket', {}, { c: { ...creds, secretAccessKey: 'guess' } }), now)).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    const pre = await presigned('GET', '/bucket/k');
    const both = { ...pre, headers: { ...pre.headers, authorization: (await headerSigned('GET', '/bucket/k')).headers.authorization } };
    expect(await v.verify(both, now)).toMatchObject({ ok: false, status: 400 });
    const old = await headerSigned('GET', '/bucket', {}, { at: new Date(now.getTime() - 16 * 60_000) });
    expect(await v.verify(old, now)).toMatchObject({ status: 403, code: 'RequestTimeTooSkewed' });
    expect(await v.verify({ method: 'GET', rawUrl: '/bucket?x=%E0%A4%A', headers: { host } }, now)).toMatchObject({ status: 400 });
  });

  it('accepts a presigned URL until it expires, forwarding it without the auth parameters', async () => {
    const req = await presigned('GET', '/bucket/t/a/f/1', { expiresIn: 60, query: { 'x-id': 'GetObject' } });
    const ok = await v.verify(req, now);
    expect(ok).toEqual({ ok: true, payloadHash: 'UNSIGNED-PAYLOAD', forwardUrl: expect.stringMatching(/^\/bucket\/t\/a\/f\/1\?/) });
    const forwarded = new URLSearchParams((ok as { forwardUrl: string }).forwardUrl.split('?')[1]);
    expect([...forwarded.keys()].sort()).toEqual(['x-amz-content-sha256', 'x-id']);
    expect(await v.verify(req, new Date(now.getTime() + 60_000))).toMatchObject({ ok: true });
    expect(await v.verify(req, new Date(now.getTime() + 61_000))).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Request has expired' });
    // Signed for later than the allowed clock skew.
    expect(await v.verify(req, new Date(now.getTime() - 16 * 60_000))).toMatchObject({ status: 403, code: 'AccessDenied' });
    // Reused for another key or method.
    expect(await v.verify({ ...req, rawUrl: req.rawUrl.replace('/f/1', '/f/2') }, now)).toMatchObject({ code: 'SignatureDoesNotMatch' });
    expect(await v.verify({ ...req, method: 'PUT' }, now)).toMatchObject({ code: 'SignatureDoesNotMatch' });
    // A longer lifetime than signed.
    expect(await v.verify({ ...req, rawUrl: req.rawUrl.replace('X-Amz-Expires=60', 'X-Amz-Expires=600') }, now)).toMatchObject({ code: 'SignatureDoesNotMatch' });
  });
});
