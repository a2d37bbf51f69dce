/* Helpers of the E2E / SDK / files suites (test/e2e-*.e2e-spec.ts): everything goes through the SDK
 * over real HTTP, as a SaaS server and its end users would. */
import { randomBytes } from 'node:crypto';
import { ChatServerClient, ChatUserClient, E2EChat, createKeyring } from '@chat/sdk';
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
