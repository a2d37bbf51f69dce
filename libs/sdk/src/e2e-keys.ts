/**
 * The key side of E2EChat v1 (e2e-client.ts): this device's keyring and its publication, the member
 * devices a message is wrapped for, the conversation keys (previews, search tokens, reactions), the
 * senders' published key versions, and re-sharing history with members who joined later. Kept apart
 * from sending and reading messages: every cache of keys lives here, behind one object.
 */
import {
  CryptoError,
  conversationKeyCheck,
  conversationKeyContext,
  currentPublicBundle,
  generateConversationKey,
  reshareMessageKey,
  rotateKeyring,
  unwrapKey,
  wrapKeyForRecipients,
  type DeviceKeyring,
  type PublicKeyBundle,
  type RecipientPublicKey,
  type WrappedKeySet,
} from './crypto';
import { ChatApiError, isChatApiError } from './errors';
import type { DeviceKeyView, MissingRecipientKey } from './types';
import type { ChatUserClient } from './user-client';

export class E2EKeys {
  /** conversation -> recipient devices (refreshed on missing_recipient_keys). */
  private readonly recipients = new Map<string, RecipientPublicKey[]>();
  /** user -> every published key version (to verify signatures of old messages). */
  private readonly bundles = new Map<string, DeviceKeyView[]>();
  /** conversation -> key version -> conversation key. */
  private readonly conversationKeys = new Map<string, Map<number, Uint8Array>>();

  constructor(
    private readonly client: ChatUserClient,
    private readonly userId: string,
    private keyringValue: DeviceKeyring,
  ) {}

  get keyring(): DeviceKeyring {
    return this.keyringValue;
  }

  // ---------------------------------------------------------------- device keys

  /** Publishes this device's current key version to the directory. */
  async publishKeys(): Promise<DeviceKeyView> {
    const bundle = currentPublicBundle(this.keyringValue);
    return this.client.publishDeviceKey(bundle.device_id, { key_version: bundle.key_version, public_key: bundle.public_key, ...(bundle.signing_key ? { signing_key: bundle.signing_key } : {}) });
  }

  /**
   * Rotates this device's keys: a new version becomes current and is published; old versions stay in
   * the keyring, so earlier messages still decrypt. Persist the returned keyring.
   */
  async rotateKeys(): Promise<DeviceKeyring> {
    this.keyringValue = rotateKeyring(this.keyringValue).keyring;
    await this.publishKeys();
    this.recipients.clear();
    return this.keyringValue;
  }

  /** Every live device of every member, as recipients (cached per conversation). */
  async memberDevices(conversationId: string, refresh = false): Promise<RecipientPublicKey[]> {
    const cached = this.recipients.get(conversationId);
    if (cached && !refresh) return cached;
    const { data, members_without_keys } = await this.client.conversationMemberKeys(conversationId);
    if (members_without_keys.length) {
      throw new ChatApiError(0, 'missing_recipient_keys', `Members without published keys cannot receive E2E messages: ${members_without_keys.join(', ')}`, {
        missing: members_without_keys.map((user_id): MissingRecipientKey => ({ user_id, device_id: null, key_version: null })),
      });
    }
    const list = data.map((k) => ({ user_id: k.user_id, device_id: k.device_id, key_version: k.key_version, public_key: k.public_key }));
    this.recipients.set(conversationId, list);
    return list;
  }

  // ---------------------------------------------------------------- conversation keys

  /**
   * The newest conversation key I hold (creating version 1 when the conversation has none). Used for
   * previews, search tokens and reactions. Every version shared with me is kept for older data.
   */
  async conversationKey(conversationId: string): Promise<{ version: number; key: Uint8Array }> {
    let versions = await this.loadConversationKeys(conversationId);
    if (versions.size === 0) {
      try {
        return await this.createConversationKey(conversationId, 1);
      } catch (err) {
        // Another member created it at the same moment: use theirs.
        if (!isChatApiError(err, 'conflict')) throw err;
        versions = await this.loadConversationKeys(conversationId, true);
      }
    }
    const newest = Math.max(...versions.keys());
    if (!Number.isFinite(newest)) throw new ChatApiError(0, 'not_found', 'No conversation key has been shared with this device yet');
    return { version: newest, key: versions.get(newest)! };
  }

  /** Creates a conversation key version wrapped for every member device (e.g. after removing a member). */
  async createConversationKey(conversationId: string, version: number): Promise<{ version: number; key: Uint8Array }> {
    const key = generateConversationKey();
    const post = async (refresh: boolean) => {
      const recipients = await this.memberDevices(conversationId, refresh);
      const set = wrapKeyForRecipients({ key, recipients, context: conversationKeyContext(conversationId, version) });
      return this.client.createConversationKey(conversationId, { key_version: version, key_check: conversationKeyCheck(key), ...set });
    };
    try {
      await post(false);
    } catch (err) {
      if (!isChatApiError(err, 'missing_recipient_keys')) throw err;
      await post(true);
    }
    this.rememberConversationKey(conversationId, version, key);
    return { version, key };
  }

  /** Rotates the conversation key (new version for the current members only). */
  async rotateConversationKey(conversationId: string): Promise<{ version: number; key: Uint8Array }> {
    const { current_version } = await this.client.conversationKeys(conversationId);
    this.recipients.delete(conversationId);
    return this.createConversationKey(conversationId, (current_version ?? 0) + 1);
  }

  private rememberConversationKey(conversationId: string, version: number, key: Uint8Array): void {
    const m = this.conversationKeys.get(conversationId) ?? new Map<number, Uint8Array>();
    m.set(version, key);
    this.conversationKeys.set(conversationId, m);
  }

  /** Unwraps every conversation key version shared with this device (checking each against its key check). */
  async loadConversationKeys(conversationId: string, refresh = false): Promise<Map<number, Uint8Array>> {
    const known = this.conversationKeys.get(conversationId);
    if (known?.size && !refresh) return known;
    const { data } = await this.client.conversationKeys(conversationId);
    for (const v of data) {
      for (const share of v.shares) {
        try {
          const key = unwrapKey({
            ephemeral_public_key: share.ephemeral_public_key,
            encrypted_key: share.encrypted_key,
            myUserId: this.userId,
            myDevice: this.keyringValue,
            context: conversationKeyContext(conversationId, v.key_version),
          });
          if (conversationKeyCheck(key) !== v.key_check) continue; // a bogus share: ignore it
          this.rememberConversationKey(conversationId, v.key_version, key);
          break;
        } catch (err) {
          if (!(err instanceof CryptoError)) throw err;
        }
      }
    }
    return this.conversationKeys.get(conversationId) ?? new Map();
  }

  /** A sender device's published key version (cached per user; asked again when unknown). */
  async senderBundle(userId: string, deviceId: string, version: number): Promise<PublicKeyBundle | null> {
    const find = () => this.bundles.get(userId)?.find((k) => k.device_id === deviceId && k.key_version === version);
    let hit = find();
    if (!hit) {
      this.bundles.set(userId, (await this.client.userKeys(userId, 'all')).data);
      hit = find();
    }
    if (!hit) return null;
    return { device_id: hit.device_id, key_version: hit.key_version, public_key: hit.public_key, ...(hit.signing_key ? { signing_key: hit.signing_key } : {}) };
  }

  // ---------------------------------------------------------------- history re-sharing

  /**
   * Gives members who joined later access to earlier messages (opt-in, see docs/e2e.md): re-wraps each
   * message key I can open for their devices, and shares every conversation key version I hold.
   * Walks history newest first, at most `limit` messages. Returns how many messages were shared.
   */
  async shareHistory(conversationId: string, newMemberIds: string[], opts: { limit?: number } = {}): Promise<number> {
    const devices = (await this.memberDevices(conversationId, true)).filter((r) => newMemberIds.includes(r.user_id));
    if (!devices.length) return 0;
    for (const [version, key] of await this.loadConversationKeys(conversationId, true)) {
      await this.client.shareConversationKey(conversationId, version, wrapKeyForRecipients({ key, recipients: devices, context: conversationKeyContext(conversationId, version) }));
    }
    const limit = opts.limit ?? 1000;
    let cursor: string | undefined;
    let shared = 0;
    let seen = 0;
    do {
      const page = await this.client.history(conversationId, { cursor, limit: 100 });
      const batch: Array<WrappedKeySet & { message_id: string }> = [];
      for (const m of page.data) {
        if (seen++ >= limit) break;
        if (!m.content || m.gap) continue;
        const bundle = await this.senderBundle(m.sender_id, m.content.sender_device_id, m.content.sender_key_version);
        try {
          const set = reshareMessageKey({
            content: m.content,
            conversationId,
            senderId: m.sender_id,
            myUserId: this.userId,
            myDevice: this.keyringValue,
            recipients: devices,
            ...(bundle?.signing_key ? { senderSigningKey: bundle } : {}),
          });
          batch.push({ message_id: m.id, ...set });
        } catch (err) {
          if (!(err instanceof CryptoError)) throw err; // not mine to share (or not authentic): skip
        }
      }
      if (batch.length) shared += (await this.client.shareMessageKeys(conversationId, batch)).stored > 0 ? batch.length : 0;
      cursor = page.next_cursor ?? undefined;
    } while (cursor && seen < limit);
    return shared;
  }
}
