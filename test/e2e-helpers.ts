/* Helpers of the E2E / SDK / files suites (test/e2e-*.e2e-spec.ts): everything goes through the SDK
 * over real HTTP, as a SaaS server and its end users would. */
import { createHash, randomBytes } from 'node:crypto';
import { ChatServerClient, ChatUserClient, E2EChat, createKeyring, md5Base64, type MessageView } from '@chat/sdk';
import { createTenant, CreateTenantOptions, TestTenant } from './support/factories';
import type { TestApp } from './support/test-app';

export const rid = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

export interface SdkTenant {
  tenant: TestTenant;
  server: ChatServerClient;
  /** Creates end users and returns a token-authenticated REST client for each. */
  users(ids: string[]): Promise<Record<string, ChatUserClient>>;
  /** One device of a user: a fresh keyring, published. */
  device(userId: string, client: ChatUserClient, deviceId?: string): Promise<E2EChat>;
}

export async function sdkTenant(t: TestApp, opts: CreateTenantOptions = {}): Promise<SdkTenant> {
  const tenant = await createTenant(t, opts);
  const server = new ChatServerClient({ baseUrl: t.url, apiKey: tenant.apiKey });
  return {
    tenant,
    server,
    async users(ids) {
      const out: Record<string, ChatUserClient> = {};
      for (const id of ids) {
        await server.upsertUser(id, { profile: { display_name: id } });
        const { token } = await server.issueUserToken(id);
        out[id] = new ChatUserClient({ baseUrl: t.url, token });
      }
      return out;
    },
    async device(userId, client, deviceId = rid('dev')) {
      const chat = new E2EChat({ client, userId, keyring: createKeyring(deviceId) });
      await chat.publishKeys();
      return chat;
    },
  };
}

/**
 * Uploads `size` random bytes as a private file through the real path (announce, presigned PUT to the
 * S3 server, confirm). Returns the bytes, the file id and the object key in the bucket.
 */
export async function uploadRawFile(client: ChatUserClient, size: number): Promise<{ bytes: Buffer; fileId: string; key: string }> {
  const bytes = randomBytes(size);
  const ticket = await client.createUpload({
    size: bytes.length,
    checksum: createHash('sha256').update(bytes).digest('hex'),
    content_md5: md5Base64(bytes),
    mime_type: 'application/octet-stream',
    sharing: { type: 'private' },
    encryption: { algorithm: 'xchacha20poly1305-file-v1' },
  });
  const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: bytes as unknown as BodyInit });
  if (put.status !== 200) throw new Error(`upload PUT answered ${put.status}`);
  await client.confirmUpload(ticket.file.id);
  const key = new URL(ticket.upload.url).pathname.split('/').slice(2).map(decodeURIComponent).join('/');
  return { bytes, fileId: ticket.file.id, key };
}

/** Expects the promise to reject with a ChatApiError of this status and code; returns it. */
export async function expectApiError(p: Promise<unknown>, status: number, code: string): Promise<{ status: number; code: string; details?: any; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { status?: number; code?: string; details?: unknown; message: string };
    if (e.status !== status || e.code !== code) {
      throw new Error(`expected ${status} ${code}, got ${e.status} ${e.code}: ${e.message} ${JSON.stringify(e.details ?? null)}`);
    }
    return e as { status: number; code: string; details?: any; message: string };
  }
  throw new Error(`expected ${status} ${code}, but it succeeded`);
}

/** Every entry of the conversation's stream the user can read (messages and MLS commits), oldest first. */
export async function readStream(client: ChatUserClient, convId: string): Promise<MessageView[]> {
  const out: MessageView[] = [];
  for (let after = 0; ; ) {
    const page = await client.history(convId, { after_seq: after, limit: 100 });
    out.push(...page.data);
    if (!page.next_cursor || !page.data.length) return out;
    after = page.data[page.data.length - 1]!.seq;
  }
}
