/**
 * Files of E2EChat v1 (e2e-client.ts): the bytes are encrypted here and go straight to and from S3
 * through presigned URLs, so the server (and storage) only ever hold ciphertext. Apart from the
 * class because the storage round trips have nothing to do with message keys.
 */
import { ChatApiError } from './errors';
import { base64ToBytes, bytesToBase64, decryptFile, encryptFile, md5Base64 } from './crypto';
import type { MessagePayload } from './e2e-types';
import type { FileView } from './types';
import type { ChatUserClient } from './user-client';

const FILE_ALGORITHM = 'xchacha20poly1305-file-v1';

/**
 * Encrypts the file, uploads the ciphertext with a presigned PUT (bound to its size and MD5) and
 * confirms it; returns the file and the payload carrying its key, for the message that shares it.
 */
export async function uploadEncryptedFile(
  client: ChatUserClient,
  fetchImpl: typeof fetch,
  conversationId: string,
  bytes: Uint8Array,
  opts: { name?: string; mimeType?: string; caption?: string },
): Promise<{ file: FileView; payload: MessagePayload }> {
  const enc = encryptFile(bytes, { associatedData: conversationId });
  const ticket = await client.createUpload({
    size: enc.ciphertext.length,
    checksum: enc.checksum,
    content_md5: md5Base64(enc.ciphertext),
    // The real type travels inside the encrypted message; the server sees ciphertext only.
    mime_type: 'application/octet-stream',
    sharing: { type: 'chat', conversation_id: conversationId },
    encryption: { algorithm: FILE_ALGORITHM },
  });
  await putObject(fetchImpl, ticket.upload.url, ticket.upload.headers, enc.ciphertext);
  const file = await client.confirmUpload(ticket.file.id);
  const payload: MessagePayload = {
    v: 1,
    kind: 'file',
    file_id: file.id,
    key: bytesToBase64(enc.key),
    nonce: bytesToBase64(enc.nonce),
    checksum: enc.checksum,
    name: opts.name ?? null,
    mime_type: opts.mimeType ?? null,
    size: bytes.length,
    ...(opts.caption ? { caption: opts.caption } : {}),
  };
  enc.key.fill(0);
  return { file, payload };
}

async function putObject(fetchImpl: typeof fetch, url: string, headers: Record<string, string>, body: Uint8Array): Promise<void> {
  let res: Response;
  try {
    res = await fetchImpl(url, { method: 'PUT', headers, body: body as unknown as BodyInit });
  } catch (err) {
    throw new ChatApiError(0, 'storage_error', `upload failed: ${(err as Error).message}`);
  }
  if (!res.ok) throw new ChatApiError(res.status, 'storage_error', `upload refused by storage (HTTP ${res.status})`, await res.text().catch(() => undefined));
}

/** Downloads and decrypts a file received in a message (checksum verified before decryption). */
export async function downloadEncryptedFile(client: ChatUserClient, fetchImpl: typeof fetch, conversationId: string, payload: Extract<MessagePayload, { kind: 'file' }>): Promise<Uint8Array> {
  const { download } = await client.downloadUrl(payload.file_id);
  let res: Response;
  try {
    res = await fetchImpl(download.url, { method: 'GET', headers: download.headers });
  } catch (err) {
    throw new ChatApiError(0, 'storage_error', `download failed: ${(err as Error).message}`);
  }
  if (!res.ok) throw new ChatApiError(res.status, 'storage_error', `download refused by storage (HTTP ${res.status})`);
  const ciphertext = new Uint8Array(await res.arrayBuffer());
  return decryptFile({ ciphertext, key: base64ToBytes(payload.key), nonce: base64ToBytes(payload.nonce), checksum: payload.checksum, associatedData: conversationId });
}
