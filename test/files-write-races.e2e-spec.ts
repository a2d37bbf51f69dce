/* A deleted file stays deleted whatever write of its document ran beside the deletion. On FerretDB a
 * single-document update is read, changed in Go and written back whole, so an attach (PUT
 * /v1/files/:id/message) or a confirm that read the file before the deletion wrote it back as it read
 * it, `ready` and without `deleted_at`: the deleted file was live again (downloadable, counted in the
 * quota, attached to a message) while its object was queued for removal from the bucket. */
import { createHash, randomBytes } from 'node:crypto';
import { md5Base64, type ChatUserClient } from '@chat/sdk';
import { createTestApp, TestApp } from './support/test-app';
import { rid, sdkTenant } from './e2e-helpers';

/** Announces and PUTs `bytes` as a chat file of the conversation; the file is still pending. */
async function uploadPending(c: ChatUserClient, conversationId: string): Promise<string> {
  const bytes = randomBytes(64);
  const ticket = await c.createUpload({
    size: bytes.length,
    checksum: createHash('sha256').update(bytes).digest('hex'),
    content_md5: md5Base64(bytes),
    mime_type: 'application/octet-stream',
    sharing: { type: 'chat', conversation_id: conversationId },
    encryption: { algorithm: 'xchacha20poly1305-file-v1' },
  });
  const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: bytes as unknown as BodyInit });
  await put.text();
  expect(put.status).toBe(200);
  return ticket.file.id;
}

/** The uploader's view of a file after the race: 'gone' when it answers 404. */
async function storedStatus(c: ChatUserClient, fileId: string): Promise<string> {
  try {
    const f = await c.getFile(fileId);
    return `${f.status}${f.message_id ? ' attached' : ''}`;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return 'gone';
    throw err;
  }
}

/**
 * Runs `fn` after `reads` reads of the file: the other request's write lands at a different point of
 * its own reads and checks from one round to the next (no sleeps: each step waits for an answer).
 */
async function after<T>(reads: number, c: ChatUserClient, fileId: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; i < reads; i++) await storedStatus(c, fileId);
  return fn();
}

describe('files under concurrent writes (FerretDB)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { FILES_SWEEP_INTERVAL_SECONDS: '0', RETENTION_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => t?.close());

  it('a file deleted while it is being attached to a message stays deleted', async () => {
    const a = await sdkTenant(t);
    const [s, r] = [rid('fs'), rid('fr')];
    const cs = await a.users([s, r]);
    const conv = await cs[s]!.createConversation({ type: 'group', name: 'race', member_ids: [r] });
    await a.device(r, cs[r]!);
    const message = await (await a.device(s, cs[s]!)).sendText(conv.id, 'carries files');
    const lost: string[] = [];
    for (let i = 0; i < 30; i++) {
      const fileId = await uploadPending(cs[s]!, conv.id);
      await cs[s]!.confirmUpload(fileId);
      const [attach, remove] = await Promise.allSettled([cs[s]!.attachFile(fileId, message.id), after(i % 4, cs[s]!, fileId, () => cs[s]!.deleteFile(fileId))]);
      // The deletion may come second (then it wins) or first (then the attach finds no live file: 404
      // before its checks, 409 at its conditional update).
      expect(remove.status).toBe('fulfilled');
      if (attach.status === 'rejected') expect([404, 409]).toContain((attach.reason as { status?: number }).status);
      const stored = await storedStatus(cs[s]!, fileId);
      if (stored !== 'gone') lost.push(`${fileId}: ${stored}`);
    }
    expect(lost).toEqual([]);
  }, 180_000);

  it('a file deleted while its upload is being confirmed stays deleted', async () => {
    const a = await sdkTenant(t);
    const [s, r] = [rid('fc'), rid('fm')];
    const cs = await a.users([s, r]);
    const conv = await cs[s]!.createConversation({ type: 'group', name: 'race', member_ids: [r] });
    const lost: string[] = [];
    for (let i = 0; i < 30; i++) {
      const fileId = await uploadPending(cs[s]!, conv.id);
      const [confirm, remove] = await Promise.allSettled([cs[s]!.confirmUpload(fileId), after(i % 6, cs[s]!, fileId, () => cs[s]!.deleteFile(fileId))]);
      expect(remove.status).toBe('fulfilled');
      if (confirm.status === 'rejected') expect((confirm.reason as { status?: number }).status).toBe(404);
      const stored = await storedStatus(cs[s]!, fileId);
      if (stored !== 'gone') lost.push(`${fileId}: ${stored}`);
    }
    expect(lost).toEqual([]);
  }, 180_000);
});
