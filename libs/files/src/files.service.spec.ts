import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import { AppError } from '@chat/errors';
import { asTenantId, TenantContext } from '@chat/tenancy';
import type { FileRecord } from './file.schema';
import { FileDeletionMarker } from './file-deletion';
import { FilesService, md5Base64ToHex, type CreateUploadInput } from './files.service';

const bytes = Buffer.from('ciphertext bytes');
const md5b64 = createHash('md5').update(bytes).digest('base64');
const sha = createHash('sha256').update(bytes).digest('hex');

function input(over: Partial<CreateUploadInput> = {}): CreateUploadInput {
  return { size: bytes.length, checksum: sha, content_md5: md5b64, mime_type: 'application/octet-stream', sharing: { type: 'private' }, ...over };
}

function setup(opts: { used?: number; head?: { size: number; etag: string | null } | null; sha?: string | null; file?: Partial<FileRecord> } = {}) {
  const id = new Types.ObjectId();
  const file = {
    _id: id,
    uploader_id: 'u',
    status: 'pending',
    storage: { provider: 's3', bucket: 'b', key: `t/t1/f/${id}`, cdn_url: null, etag: null },
    metadata: { filename: null, mime_type: 'application/octet-stream', size: bytes.length, checksum: sha, content_md5: md5b64, dimensions: null },
    encryption: { algorithm: 'x', ephemeral_public_key: null, encrypted_key: [] },
    sharing: { type: 'private', conversation_id: null, expiry: null },
    message_id: null,
    upload_expires_at: new Date(),
    confirmed_at: null,
    deleted_at: null,
    purged_at: null,
    created_at: new Date(),
    updated_at: new Date(),
    ...opts.file,
  } as unknown as FileRecord;
  const repo = {
    usedBytes: jest.fn(async () => opts.used ?? 0),
    create: jest.fn(async (d: unknown) => d),
    get: jest.fn(async () => file),
    markReady: jest.fn(async () => ({ ...file, status: 'ready' })),
    removePending: jest.fn(async () => undefined),
  };
  const purges = { schedule: jest.fn(async () => undefined), cancel: jest.fn(async () => undefined) };
  const s3 = {
    bucket: 'b',
    presignPut: jest.fn(async () => ({ url: 'http://127.0.0.1/b/k', method: 'PUT', headers: {}, expires_at: '' })),
    head: jest.fn(async () => (opts.head === undefined ? { size: bytes.length, etag: md5Base64ToHex(md5b64) } : opts.head)),
    sha256: jest.fn(async () => (opts.sha === undefined ? sha : opts.sha)),
  };
  const quotas = {
    quotasOf: jest.fn(async () => ({ storage_bytes: 100 })),
    assertStorage: jest.fn(async (_t: string, used: number, add: number) => {
      if (used + add > 100) throw new AppError('quota_exceeded', 'Storage quota exceeded');
    }),
  };
  const config = { FILES_MAX_BYTES: 1000, S3_PRESIGN_TTL_SECONDS: 60, FILES_DELETE_GRACE_SECONDS: 0, FILES_VERIFY_SHA256_MAX_BYTES: 1024 };
  const marker = new FileDeletionMarker(repo as never, purges as never, config as never);
  const chat = { requireMember: async () => undefined, getMessage: async () => ({ id: 'm', sender_id: 'u', deleted_at: null }) };
  const svc = new FilesService(repo as never, purges as never, s3 as never, config as never, marker, chat, quotas as never);
  return { svc, repo, purges, s3, quotas, file };
}

const run = <T>(fn: () => Promise<T>) => TenantContext.run({ tenantId: asTenantId('t1') }, fn);
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: AppError) => `${e.getStatus()} ${e.code} ${JSON.stringify(e.details ?? null)}`);

describe('FilesService', () => {
  it('converts Content-MD5 (base64) to the hex ETag of a single-part upload', () => {
    expect(md5Base64ToHex(md5b64)).toBe(createHash('md5').update(bytes).digest('hex'));
  });

  it('issues an upload URL after the quota check, with an abandoned-upload purge scheduled', async () => {
    const { svc, quotas, purges, s3 } = setup({ used: 10 });
    const ticket = await run(() => svc.createUpload('u', input()));
    expect(quotas.assertStorage).toHaveBeenCalledWith('t1', 10, bytes.length);
    expect(ticket.file.status).toBe('pending');
    expect(purges.schedule).toHaveBeenCalledWith(expect.objectContaining({ reason: 'abandoned', tenant_id: 't1' }));
    expect(s3.presignPut).toHaveBeenCalledWith(expect.stringMatching(/^t\/t1\/f\/[0-9a-f]{24}$/), expect.objectContaining({ size: bytes.length, contentMd5: md5b64 }));
  });

  it('refuses over quota, oversized and malformed announcements before anything is stored', async () => {
    const { svc, repo } = setup({ used: 95 });
    expect(await codeOf(run(() => svc.createUpload('u', input())))).toMatch(/^429 quota_exceeded/);
    expect(await codeOf(run(() => svc.createUpload('u', input({ size: 5000 }))))).toMatch(/^413 payload_too_large/);
    expect(await codeOf(run(() => svc.createUpload('u', input({ checksum: 'ABC' }))))).toMatch(/^400 validation_failed/);
    expect(await codeOf(run(() => svc.createUpload('u', input({ sharing: { type: 'chat' } }))))).toMatch(/^400 validation_failed/);
    expect(await codeOf(run(() => svc.createUpload('u', input({ sharing: { type: 'public', expiry: '2000-01-01T00:00:00Z' } }))))).toMatch(/^400 validation_failed/);
    expect(repo.create).not.toHaveBeenCalled();
  });

  it('withdraws a pending file when parallel uploads took the space meanwhile (no overshoot)', async () => {
    const { svc, repo, purges } = setup();
    // Fits at first (10 used); with the others that were inserted meanwhile the total is over 100;
    // without it, 90 are used: no room left, refused for good.
    repo.usedBytes.mockResolvedValueOnce(10).mockResolvedValueOnce(120).mockResolvedValue(90);
    expect(await codeOf(run(() => svc.createUpload('u', input())))).toMatch(/^429 quota_exceeded/);
    expect(repo.create).toHaveBeenCalledTimes(1);
    expect(repo.removePending).toHaveBeenCalledTimes(1);
    expect(purges.schedule).not.toHaveBeenCalled();
  });

  it('confirms only an object of the announced size, MD5 and SHA-256', async () => {
    expect(await codeOf(run(() => setup({ head: null }).svc.confirm('u', 'x')))).toContain('object_missing');
    expect(await codeOf(run(() => setup({ head: { size: 3, etag: null } }).svc.confirm('u', 'x')))).toContain('size_mismatch');
    expect(await codeOf(run(() => setup({ head: { size: bytes.length, etag: '0'.repeat(32) } }).svc.confirm('u', 'x')))).toContain('checksum_mismatch');
    expect(await codeOf(run(() => setup({ sha: 'f'.repeat(64) }).svc.confirm('u', 'x')))).toContain('checksum_mismatch');
    // Multipart ETags cannot be compared: the SHA-256 decides.
    expect(await codeOf(run(() => setup({ head: { size: bytes.length, etag: 'abc-2' } }).svc.confirm('u', 'x')))).toBe('ok');
    const ok = setup();
    expect((await run(() => ok.svc.confirm('u', 'x'))).status).toBe('ready');
    expect(ok.purges.cancel).toHaveBeenCalledWith('x', 'abandoned');
    // Not the uploader: as if it did not exist.
    expect(await codeOf(run(() => setup().svc.confirm('someone-else', 'x')))).toMatch(/^404 not_found/);
  });

  it('reads: uploader, server, public until expiry; private files of others are not found', async () => {
    const priv = setup({ file: { status: 'ready' } as Partial<FileRecord> });
    expect(await codeOf(run(() => priv.svc.get({ kind: 'user', userId: 'other' }, 'x')))).toMatch(/^404/);
    expect((await run(() => priv.svc.get({ kind: 'server' }, 'x'))).id).toBeDefined();
    const pub = setup({ file: { status: 'ready', sharing: { type: 'public', conversation_id: null, expiry: new Date(Date.now() - 1) } } as Partial<FileRecord> });
    expect(await codeOf(run(() => pub.svc.get({ kind: 'user', userId: 'other' }, 'x')))).toMatch(/^404/);
    expect((await run(() => pub.svc.get({ kind: 'user', userId: 'u' }, 'x'))).id).toBeDefined();
  });
});
