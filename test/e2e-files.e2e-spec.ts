import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { FilesService, FilesSweeper } from '@chat/files';
import { RetentionService } from '@chat/retention';
import { asTenantId, TenantContext } from '@chat/tenancy';
import { encryptFile, md5Base64, type ChatUserClient, type CreateUploadInput } from '@chat/sdk';
import { objectExists as objectExistsIn, testS3Client } from './support/s3';
import { createTestApp, TestApp } from './support/test-app';
import { restoreClock, useTestClock } from './support/test-clock';
import { waitFor } from './support/wait-for';
import { expectApiError, rid, sdkTenant, SdkTenant } from './e2e-helpers';

const s3 = testS3Client();
afterAll(() => s3.destroy());
const objectExists = (key: string) => objectExistsIn(s3, key);

/** What the client announces for a ciphertext. */
function announce(ciphertext: Uint8Array, sharing: CreateUploadInput['sharing']): CreateUploadInput {
  return {
    size: ciphertext.length,
    checksum: createHash('sha256').update(ciphertext).digest('hex'),
    content_md5: md5Base64(ciphertext),
    mime_type: 'application/octet-stream',
    sharing,
    encryption: { algorithm: 'xchacha20poly1305-file-v1' },
  };
}

async function put(url: string, headers: Record<string, string>, body: Uint8Array): Promise<number> {
  const res = await fetch(url, { method: 'PUT', headers, body: body as unknown as BodyInit });
  await res.text();
  return res.status;
}

/** Uploads ciphertext through a fresh ticket and confirms it. */
async function uploadReady(c: ChatUserClient, ciphertext: Uint8Array, sharing: CreateUploadInput['sharing']) {
  const ticket = await c.createUpload(announce(ciphertext, sharing));
  expect(await put(ticket.upload.url, ticket.upload.headers, ciphertext)).toBe(200);
  return c.confirmUpload(ticket.file.id);
}

describe('encrypted files on S3 (real s3rver, FerretDB)', () => {
  let t: TestApp;
  let a: SdkTenant;
  let sweeper: FilesSweeper;
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0', FILES_DELETE_GRACE_SECONDS: '60', S3_PRESIGN_TTL_SECONDS: '120', RETENTION_INTERVAL_SECONDS: '0' } });
    a = await sdkTenant(t);
    sweeper = t.app.get(FilesSweeper);
  });
  afterEach(() => restoreClock(t.app));
  afterAll(async () => t?.close());
  /** Bytes the tenant's live files take: what the storage quota counts. */
  const usedBytes = (tenantId: string) => TenantContext.run({ tenantId: asTenantId(tenantId) }, () => t.app.get(FilesService).usedBytes());

  it('uploads straight to the configured S3 endpoint and verifies the object before it is ready', async () => {
    const u = rid('up');
    const { [u]: c } = await a.users([u]);
    const ciphertext = encryptFile(randomBytes(3000)).ciphertext;
    const ticket = await c.createUpload(announce(ciphertext, { type: 'private' }));
    expect(ticket.file.status).toBe('pending');
    // Presigned URL on the configured (loopback) endpoint, bound to length and MD5.
    expect(ticket.upload.url.startsWith(`${process.env.S3_ENDPOINT}/${process.env.S3_BUCKET}/t/`)).toBe(true);
    expect(ticket.upload.url).toContain('X-Amz-SignedHeaders=content-length%3Bcontent-md5%3Bcontent-type%3Bhost');
    expect(ticket.upload.headers).toEqual({ 'Content-Type': 'application/octet-stream', 'Content-MD5': md5Base64(ciphertext) });
    // Confirming before uploading: the object is missing.
    const missing = await expectApiError(c.confirmUpload(ticket.file.id), 422, 'upload_verification_failed');
    expect(missing.details).toEqual({ reason: 'object_missing' });
    // Other bytes of the same size (s3rver does not check Content-MD5; real S3 would refuse the PUT): caught by the ETag.
    const forged = new Uint8Array(ciphertext);
    forged[0] ^= 1;
    await put(ticket.upload.url, ticket.upload.headers, forged);
    expect((await expectApiError(c.confirmUpload(ticket.file.id), 422, 'upload_verification_failed')).details).toMatchObject({ reason: 'checksum_mismatch' });
    // Another size: Content-Length is signed, so the store refuses the PUT (as S3 does). A store that
    // skipped that check would keep the object: caught at confirmation by its size.
    expect(await put(ticket.upload.url, ticket.upload.headers, ciphertext.subarray(1))).toBe(403);
    const key = decodeURIComponent(new URL(ticket.upload.url).pathname.slice(`/${process.env.S3_BUCKET}/`.length));
    await s3.send(new PutObjectCommand({ Bucket: process.env.S3_BUCKET, Key: key, Body: ciphertext.subarray(1) }));
    expect((await expectApiError(c.confirmUpload(ticket.file.id), 422, 'upload_verification_failed')).details).toMatchObject({ reason: 'size_mismatch' });
    // The real bytes: ready, idempotently.
    expect(await put(ticket.upload.url, ticket.upload.headers, ciphertext)).toBe(200);
    const ready = await c.confirmUpload(ticket.file.id);
    expect(ready).toMatchObject({ id: ticket.file.id, status: 'ready', uploader_id: u, metadata: { size: ciphertext.length, mime_type: 'application/octet-stream', filename: null } });
    expect((await c.confirmUpload(ticket.file.id)).status).toBe('ready');
    const { download } = await c.downloadUrl(ready.id);
    expect(download.url.startsWith(`${process.env.S3_ENDPOINT}/`)).toBe(true);
    const got = new Uint8Array(await (await fetch(download.url)).arrayBuffer());
    expect(Buffer.from(got).equals(Buffer.from(ciphertext))).toBe(true);
    expect((await c.myFiles()).data.map((f) => f.id)).toContain(ready.id);
  });

  it('validates announcements in the error shape', async () => {
    const u = rid('val');
    const { [u]: c } = await a.users([u]);
    const ct = randomBytes(100);
    await expectApiError(c.createUpload({ ...announce(ct, { type: 'chat' }) }), 400, 'validation_failed');
    await expectApiError(c.createUpload({ ...announce(ct, { type: 'private', expiry: new Date(Date.now() + 60_000).toISOString() }) }), 400, 'validation_failed');
    await expectApiError(c.createUpload({ ...announce(ct, { type: 'public', expiry: new Date(Date.now() - 1000).toISOString() }) }), 400, 'validation_failed');
    await expectApiError(c.createUpload({ ...announce(ct, { type: 'private' }), checksum: 'abc' }), 400, 'validation_failed');
    await expectApiError(c.createUpload({ ...announce(ct, { type: 'private' }), size: 0 }), 400, 'validation_failed');
    await expectApiError(c.createUpload({ ...announce(ct, { type: 'private' }), mime_type: 'not a mime' }), 400, 'validation_failed');
    await expectApiError(c.createUpload({ ...announce(ct, { type: 'private' }), size: 200 * 1024 * 1024 }), 413, 'payload_too_large');
    await expectApiError(c.confirmUpload('nope'), 404, 'not_found');
    await expectApiError(c.getFile('0123456789abcdef01234567'), 404, 'not_found');
  });

  it('hands download URLs only to the uploader, chat members, and anyone for public files until expiry', async () => {
    // Expiry follows the app's clock, which stands still until the test moves it.
    const clock = useTestClock(t.app);
    const [owner, member, outsider] = [rid('own'), rid('mem'), rid('out')];
    const cs = await a.users([owner, member, outsider]);
    const conv = await cs[owner]!.createConversation({ type: 'group', name: 'files', member_ids: [member] });
    const chat = await uploadReady(cs[owner]!, randomBytes(64), { type: 'chat', conversation_id: conv.id });
    const priv = await uploadReady(cs[owner]!, randomBytes(64), { type: 'private' });
    const pub = await uploadReady(cs[owner]!, randomBytes(64), { type: 'public', expiry: new Date(clock.now() + 3_600_000).toISOString() });

    // Chat files: members only; the outsider cannot even ask for an upload into that conversation.
    expect((await cs[member]!.downloadUrl(chat.id)).download.url).toContain(process.env.S3_ENDPOINT!);
    await expectApiError(cs[outsider]!.downloadUrl(chat.id), 404, 'not_found');
    await expectApiError(cs[outsider]!.getFile(chat.id), 404, 'not_found');
    await expectApiError(cs[outsider]!.createUpload(announce(randomBytes(10), { type: 'chat', conversation_id: conv.id })), 404, 'not_found');
    // Private: uploader only.
    await expectApiError(cs[member]!.downloadUrl(priv.id), 404, 'not_found');
    // Public: anyone in the tenant, until expiry (then only the uploader).
    expect((await cs[outsider]!.downloadUrl(pub.id)).file.id).toBe(pub.id);
    // The API key (the tenant's own server) reads any file of its tenant.
    expect((await a.server.getFile(priv.id)).id).toBe(priv.id);
    // Another tenant: every id is "not found".
    const b = await sdkTenant(t);
    const other = await b.users([outsider]);
    for (const f of [chat, priv, pub]) {
      await expectApiError(other[outsider]!.downloadUrl(f.id), 404, 'not_found');
      await expectApiError(b.server.getFile(f.id), 404, 'not_found');
    }
    await expectApiError(b.server.deleteFile(priv.id), 404, 'not_found');

    clock.set(Date.parse(pub.sharing.expiry!) - 1);
    expect((await cs[outsider]!.downloadUrl(pub.id)).file.id).toBe(pub.id);
    clock.advance(1);
    await expectApiError(cs[outsider]!.downloadUrl(pub.id), 404, 'not_found');
    expect((await cs[owner]!.downloadUrl(pub.id)).file.id).toBe(pub.id);

    // A member removed from the conversation loses access.
    await cs[owner]!.removeMember(conv.id, member);
    await expectApiError(cs[member]!.downloadUrl(chat.id), 404, 'not_found');
  });

  it('enforces the storage quota before issuing an upload URL (pending uploads count)', async () => {
    const q = await sdkTenant(t, { quotas: { storage_bytes: 1000 } });
    const u = rid('quota');
    const { [u]: c } = await q.users([u]);
    await c.createUpload(announce(randomBytes(600), { type: 'private' }));
    const refused = await expectApiError(c.createUpload(announce(randomBytes(500), { type: 'private' })), 429, 'quota_exceeded');
    expect(refused.details).toMatchObject({ quota: 'storage_bytes', limit: 1000 });
    // Deleting frees the space.
    const [pending] = (await c.myFiles()).data;
    await c.deleteFile(pending!.id);
    await c.createUpload(announce(randomBytes(500), { type: 'private' }));
  });

  it('parallel upload requests that together exceed the storage quota: never more accepted than fit', async () => {
    const q = await sdkTenant(t, { quotas: { storage_bytes: 1000 } });
    const u = rid('par');
    const { [u]: c } = await q.users([u]);
    // Sixteen at once, 300 bytes each: at most three fit.
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => c!.createUpload(announce(randomBytes(300), { type: 'private' }))));
    const accepted = results.filter((r) => r.status === 'fulfilled').length;
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ status: 429, code: 'quota_exceeded' });
    expect(accepted).toBeLessThanOrEqual(3);
    // Refused requests leave nothing behind: only the accepted uploads count.
    expect((await c!.myFiles()).data).toHaveLength(accepted);
    const used = await usedBytes(q.tenant.tenantId);
    expect(used).toBe(300 * accepted);
    // The rest of the quota is still usable, to the byte.
    if (used < 1000) await c!.createUpload(announce(randomBytes(1000 - used), { type: 'private' }));
    await expectApiError(c!.createUpload(announce(randomBytes(1), { type: 'private' })), 429, 'quota_exceeded');
  });

  it('marks a deleted message’s files and the sweep removes them from the bucket; abandoned uploads too', async () => {
    const [s, r] = [rid('snd'), rid('rcv')];
    const cs = await a.users([s, r]);
    const ds = await a.device(s, cs[s]!);
    const dr = await a.device(r, cs[r]!);
    const conv = await cs[s]!.createConversation({ type: 'group', name: 'del', member_ids: [r] });
    const bytes = randomBytes(2048);
    const { message, file } = await ds.sendFile(conv.id, bytes, { name: 'secret.bin', mimeType: 'application/x-test' });
    expect(file.message_id).toBe(message.id);
    // The receiver decrypts the message and the file.
    const opened = await dr.decrypt(message);
    expect(opened.payload.kind).toBe('file');
    const plain = await dr.downloadFile(conv.id, opened.payload as Extract<typeof opened.payload, { kind: 'file' }>);
    expect(Buffer.from(plain).equals(bytes)).toBe(true);
    const key = `t/${a.tenant.tenantId}/f/${file.id}`;
    expect(await objectExists(key)).toBe(true);

    // An abandoned upload (never confirmed).
    const abandoned = await cs[s]!.createUpload(announce(randomBytes(32), { type: 'private' }));
    await put(abandoned.upload.url, abandoned.upload.headers, randomBytes(32));
    const abandonedKey = `t/${a.tenant.tenantId}/f/${abandoned.file.id}`;

    await cs[s]!.deleteMessage(conv.id, message.id);
    await waitFor(async () => (await cs[s]!.getFile(file.id).then(() => false, () => true)));
    await expectApiError(cs[r]!.downloadUrl(file.id), 404, 'not_found');
    // Within the grace period nothing leaves the bucket.
    await sweeper.sweepOnce({ now: new Date() });
    expect(await objectExists(key)).toBe(true);
    const later = new Date(Date.now() + 10 * 60_000);
    let removed = 0;
    for (let i = 0; i < 20; i++) {
      const res = await sweeper.sweepOnce({ now: later, limit: 50 });
      removed += res.removed;
      if (!(await objectExists(key)) && !(await objectExists(abandonedKey))) break;
    }
    expect(await objectExists(key)).toBe(false);
    expect(await objectExists(abandonedKey)).toBe(false);
    expect(removed).toBeGreaterThanOrEqual(2);
    await expectApiError(cs[s]!.confirmUpload(abandoned.file.id), 404, 'not_found');
  });

  it('retention deleting an expired message marks its files: quota freed at once, objects removed by the sweep', async () => {
    const r = await sdkTenant(t, { quotas: { storage_bytes: 5000 } });
    const [s, m] = [rid('rs'), rid('rm')];
    const cs = await r.users([s, m]);
    const ds = await r.device(s, cs[s]!);
    await r.device(m, cs[m]!);
    const conv = await cs[s]!.createConversation({ type: 'group', name: 'expiring', member_ids: [m] });
    // The real upload path: presigned PUT to s3rver, confirm, attach to the message.
    const { message, file } = await ds.sendFile(conv.id, randomBytes(3000), { name: 'old.bin' });
    expect(file).toMatchObject({ status: 'ready', message_id: message.id });
    const kept = await ds.sendText(conv.id, 'no file here');
    const key = `t/${r.tenant.tenantId}/f/${file.id}`;
    expect(await objectExists(key)).toBe(true);
    const used = () => usedBytes(r.tenant.tenantId);
    expect(await used()).toBe(file.metadata.size);
    // The file holds most of the quota: another 3000 bytes do not fit.
    await expectApiError(cs[s]!.createUpload(announce(randomBytes(3000), { type: 'private' })), 429, 'quota_exceeded');

    // Both messages are 31 days old as far as this run is concerned.
    const retention = t.app.get(RetentionService);
    await retention.setPolicy(r.tenant.tenantId, { retention_days: 30 });
    const run = await retention.run({ tenantId: r.tenant.tenantId, now: new Date(Date.now() + 31 * 86_400_000) });
    expect(run!.expired_deleted).toBe(2);
    await expectApiError(cs[s]!.getMessage(conv.id, kept.id), 404, 'not_found');
    // Marked at once: no longer readable, no longer counted.
    await expectApiError(cs[m]!.downloadUrl(file.id), 404, 'not_found');
    await expectApiError(cs[s]!.getFile(file.id), 404, 'not_found');
    expect(await used()).toBe(0);
    await cs[s]!.createUpload(announce(randomBytes(3000), { type: 'private' }));
    // The object stays through the grace period, then the sweep removes it.
    await sweeper.sweepOnce({ now: new Date() });
    expect(await objectExists(key)).toBe(true);
    const later = new Date(Date.now() + 10 * 60_000);
    for (let i = 0; i < 20 && (await objectExists(key)); i++) await sweeper.sweepOnce({ now: later, limit: 50 });
    expect(await objectExists(key)).toBe(false);
  });

  it('attaches files only to the uploader’s own message in the file’s conversation', async () => {
    const [s, r] = [rid('as'), rid('ar')];
    const cs = await a.users([s, r]);
    const ds = await a.device(s, cs[s]!);
    const dr = await a.device(r, cs[r]!);
    const conv = await cs[s]!.createConversation({ type: 'group', name: 'att', member_ids: [r] });
    const other = await cs[s]!.createConversation({ type: 'group', name: 'att2', member_ids: [r] });
    const theirs = await dr.sendText(conv.id, 'not yours');
    const elsewhere = await ds.sendText(other.id, 'other conversation');
    const f = await uploadReady(cs[s]!, randomBytes(40), { type: 'chat', conversation_id: conv.id });
    await expectApiError(cs[s]!.attachFile(f.id, theirs.id), 403, 'forbidden');
    await expectApiError(cs[s]!.attachFile(f.id, elsewhere.id), 404, 'not_found');
    await expectApiError(cs[r]!.attachFile(f.id, theirs.id), 404, 'not_found');
    const mine = await ds.sendText(conv.id, 'mine');
    expect((await cs[s]!.attachFile(f.id, mine.id)).message_id).toBe(mine.id);
    const mine2 = await ds.sendText(conv.id, 'mine again');
    await expectApiError(cs[s]!.attachFile(f.id, mine2.id), 409, 'conflict');
  });
});
