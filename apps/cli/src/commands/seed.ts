import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { AppError } from '@chat/errors';
import { ConversationsService, MessagesService, UsersService } from '@chat/chat';
import { ApiKeyService, ApplicationService, TenantService } from '@chat/platform';
import { UserTokenService } from '@chat/auth';
import { KeyDirectoryService } from '@chat/keys';
import { bytesToBase64, encryptMessage, generateDeviceKeys, searchTokens, type DeviceKeys } from '../../../../libs/sdk/src/crypto';
import { asTenantId, TenantContext } from '@chat/tenancy';
import type { ProgressSink } from '@chat/backup';

export interface SeedOptions {
  name: string;
  plan: string;
  region: string;
  users: number;
  conversations: number;
  messages: number;
}

export interface SeedResult {
  /** False when a tenant of that name was already seeded: nothing was added, its demo data is reported. */
  created: boolean;
  /** Where the demo users' device keys (private halves included) and the demo credentials are kept (mode 0600). */
  devices_file: string;
  tenant_id: string;
  application_id: string;
  /** Shown once: the demo key (every scope) and the application's token-signing secret. */
  api_key: string;
  app_secret: string;
  users: string[];
  conversations: string[];
  messages: number;
}

/** A link that signs a demo user into the chat app: a fresh short-lived token in the URL fragment (never sent to the server, nor logged). */
export interface DemoSignInLink {
  user_id: string;
  url: string;
  expires_at: string;
}

/** A demo user's device keys as stored in the demo file (base64), readable by a demo client. */
export interface DemoDevice {
  user_id: string;
  device_id: string;
  key_version: number;
  agreement: { public_key: string; secret_key: string };
  signing?: { public_key: string; secret_key: string };
}

export type DemoTenant = Omit<SeedResult, 'created' | 'devices_file' | 'users'> & { name: string; users: DemoDevice[] };

interface DemoFile {
  tenants: Record<string, DemoTenant>;
}

function readDemoFile(path: string): DemoFile {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as DemoFile) : { tenants: {} };
}

/** The file holds private keys and credentials: owner-only, also when it existed with a wider mode. */
function writeDemoFile(path: string, file: DemoFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
}

function toDemoDevice(userId: string, k: DeviceKeys): DemoDevice {
  return {
    user_id: userId,
    device_id: k.device_id,
    key_version: k.key_version,
    agreement: { public_key: bytesToBase64(k.agreement.publicKey), secret_key: bytesToBase64(k.agreement.secretKey) },
    ...(k.signing ? { signing: { public_key: bytesToBase64(k.signing.publicKey), secret_key: bytesToBase64(k.signing.secretKey) } } : {}),
  };
}

/**
 * Idempotent by name: a live tenant of that name that this data directory's demo file knows is
 * reported as it is (nothing added); one the file does not know (seeded elsewhere, or before the file
 * existed) is a conflict, since its demo keys are gone.
 */
export async function runSeed(app: INestApplicationContext, progress: ProgressSink, o: SeedOptions, files: { devicesFile: string; existingTenantId: string | null }): Promise<SeedResult> {
  const file = readDemoFile(files.devicesFile);
  if (files.existingTenantId) {
    const known = file.tenants[files.existingTenantId];
    if (!known) {
      throw AppError.conflict(`tenant "${o.name}" (${files.existingTenantId}) exists but its demo keys are not in ${files.devicesFile}: seed under another --name, or erase it first (tenant erase ${files.existingTenantId} --yes)`);
    }
    const { name: _name, users, ...rest } = known;
    return { created: false, devices_file: files.devicesFile, ...rest, users: users.map((u) => u.user_id) };
  }
  const seeded = await seedTenant(app, progress, o);
  file.tenants[seeded.result.tenant_id] = { name: o.name, ...seeded.result, users: [...seeded.devices].map(([id, k]) => toDemoDevice(id, k)) };
  writeDemoFile(files.devicesFile, file);
  return { created: true, devices_file: files.devicesFile, ...seeded.result };
}

/**
 * A demo tenant through the platform's own services (so every invariant holds: seq counters, quotas,
 * events): one application, an API key, users with real X25519 device keys, group conversations and
 * messages that are genuine SDK envelopes (XChaCha20-Poly1305, key wrapped for every member device).
 */
async function seedTenant(app: INestApplicationContext, progress: ProgressSink, o: SeedOptions): Promise<{ result: Omit<SeedResult, 'created' | 'devices_file'>; devices: Map<string, DeviceKeys> }> {
  const tenant = await app.get(TenantService).create({ name: o.name, plan: o.plan, region: o.region });
  const tenantId = tenant._id.toHexString();
  const { application, secret } = await app.get(ApplicationService).create(tenantId, { name: `${o.name} app` });
  const { secret: apiKey } = await app.get(ApiKeyService).create(application._id.toHexString(), { name: 'seed', scopes: ['*'] }, 'cli-seed');
  return TenantContext.run({ tenantId: asTenantId(tenantId), actor: { type: 'system', id: 'cli-seed' } }, async () => {
    const users = app.get(UsersService);
    const conversations = app.get(ConversationsService);
    const messages = app.get(MessagesService);
    const devices = new Map<string, DeviceKeys>();
    const userTask = progress.start('users', o.users);
    for (let i = 1; i <= o.users; i++) {
      const id = `demo-user-${i}`;
      const keys = generateDeviceKeys({ deviceId: `${id}-device-1` });
      devices.set(id, keys);
      await users.upsert(id, {
        profile: { display_name: `Demo User ${i}` },
        encryption: { public_key: bytesToBase64(keys.agreement.publicKey), key_version: keys.key_version },
      });
      // In the key directory too, as a client publishes its device: then a browser signed in as another
      // demo user (the chat app) can encrypt for this one.
      await app.get(KeyDirectoryService).publish(id, keys.device_id, {
        key_version: keys.key_version,
        public_key: bytesToBase64(keys.agreement.publicKey),
        ...(keys.signing ? { signing_key: bytesToBase64(keys.signing.publicKey) } : {}),
      });
      userTask.increment();
    }
    userTask.done();
    const ids = [...devices.keys()];
    const convIds: string[] = [];
    const convTask = progress.start('conversations', o.conversations);
    for (let c = 0; c < o.conversations; c++) {
      // Each conversation: the first user plus a rotating slice of the others (at least two members).
      const members = [...new Set([ids[0], ...ids.slice(1).filter((_, i) => (i + c) % 2 === 0)])];
      if (members.length < 2 && ids.length > 1) members.push(ids[1]);
      const conv = await conversations.create(members[0], { type: 'group', name: `Demo conversation ${c + 1}`, member_ids: members.slice(1) });
      convIds.push(conv.id);
      convTask.increment();
    }
    convTask.done();
    let sent = 0;
    const msgTask = progress.start('messages', o.messages * convIds.length);
    for (const convId of convIds) {
      const members = await conversations.getMemberIds(convId);
      const recipients = members.map((m) => {
        const d = devices.get(m)!;
        return { user_id: m, device_id: d.device_id, key_version: d.key_version, public_key: d.agreement.publicKey };
      });
      for (let n = 1; n <= o.messages; n++) {
        const sender = members[n % members.length];
        const d = devices.get(sender)!;
        const text = `Hello from ${sender}, message ${n}`;
        const content = encryptMessage({
          plaintext: text,
          type: 'text',
          conversationId: convId,
          senderId: sender,
          senderDevice: { device_id: d.device_id, key_version: d.key_version },
          recipients,
          signingKey: d.signing?.secretKey,
        });
        // Demo search tokens keyed by a per-conversation demo key (real clients derive it from the conversation key).
        const tokens = searchTokens(text, new Uint8Array(32).fill(7));
        await messages.send(sender, convId, { content, client_msg_id: `seed-${convIds.indexOf(convId)}-${n}`, search_tokens: tokens } as never);
        sent++;
        msgTask.increment();
      }
    }
    msgTask.done();
    return { result: { tenant_id: tenantId, application_id: application._id.toHexString(), api_key: apiKey, app_secret: secret, users: ids, conversations: convIds, messages: sent }, devices };
  });
}

/**
 * Sign-in links for the chat app (/app), minted at each run (so running seed again gives fresh ones):
 * an end-user token of the default lifetime (END_USER_TOKEN_TTL_SECONDS) in the fragment, exactly what
 * a SaaS backend would hand its own users. The browser makes and keeps its own device keys.
 */
export async function demoSignInLinks(app: INestApplicationContext, r: Pick<SeedResult, 'tenant_id' | 'application_id' | 'users'>, baseUrl: string): Promise<DemoSignInLink[]> {
  const tokens = app.get(UserTokenService);
  const links: DemoSignInLink[] = [];
  for (const userId of r.users) {
    const { token, expires_at } = await tokens.issue({ tenantId: r.tenant_id, applicationId: r.application_id, userId });
    links.push({ user_id: userId, url: `${baseUrl}/app#token=${encodeURIComponent(token)}`, expires_at });
  }
  return links;
}
