import type { INestApplicationContext } from '@nestjs/common';
import { ConversationsService, MessagesService, UsersService } from '@chat/chat';
import { ApiKeyService, ApplicationService, TenantService } from '@chat/platform';
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
  tenant_id: string;
  application_id: string;
  /** Shown once: the demo key (every scope) and the application's token-signing secret. */
  api_key: string;
  app_secret: string;
  users: string[];
  conversations: string[];
  messages: number;
}

/**
 * A demo tenant through the platform's own services (so every invariant holds: seq counters, quotas,
 * events): one application, an API key, users with real X25519 device keys, group conversations and
 * messages that are genuine SDK envelopes (XChaCha20-Poly1305, key wrapped for every member device).
 */
export async function runSeed(app: INestApplicationContext, progress: ProgressSink, o: SeedOptions): Promise<SeedResult> {
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
    return { tenant_id: tenantId, application_id: application._id.toHexString(), api_key: apiKey, app_secret: secret, users: ids, conversations: convIds, messages: sent };
  });
}
