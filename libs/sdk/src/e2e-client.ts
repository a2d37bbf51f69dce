import {
  CryptoError,
  base64ToBytes,
  bytesToBase64,
  conversationKeyCheck,
  conversationKeyContext,
  currentPublicBundle,
  decryptFile,
  decryptMessage,
  decryptPreview,
  decryptReaction,
  encryptFile,
  encryptMessage,
  encryptPreview,
  encryptReaction,
  generateConversationKey,
  getKeys,
  isReactionToken,
  md5Base64,
  openFrankedPayload,
  reshareMessageKey,
  sealFrankedPayload,
  rotateKeyring,
  searchTokens,
  unwrapKey,
  utf8ToBytes,
  wrapKeyForRecipients,
  type DeviceKeyring,
  type EncryptedMessageContent,
  type MessageType,
  type PublicKeyBundle,
  type RecipientPublicKey,
  type WrappedKeySet,
} from './crypto';
import { ChatApiError, isChatApiError } from './errors';
import type { ChatUserClient } from './user-client';
import type { DeviceKeyView, FileView, MessageView, MissingRecipientKey, ReportReason, ReportReceiptView, SendMessageInput } from './types';

/** What a message's encrypted plaintext holds (JSON, versioned). */
export type MessagePayload =
  | { v: 1; kind: 'text'; text: string }
  | {
      v: 1;
      kind: 'file';
      file_id: string;
      /** base64 file key and nonce: only ever inside the encrypted payload. */
      key: string;
      nonce: string;
      checksum: string;
      name: string | null;
      mime_type: string | null;
      size: number;
      caption?: string;
    };

export interface DecryptedMessage {
  message: MessageView;
  payload: MessagePayload;
  /** The payload string exactly as the sender committed to it (what a report discloses). */
  payloadText: string;
  /**
   * The message's franking key and commitment, already checked against each other (a mismatch fails
   * decryption). Null for a message sent without franking (older SDKs): a report of it is unverifiable.
   */
  franking: { franking_key: string; commitment: string } | null;
  /** True when the sender's signature was verified against the key directory. */
  verified: boolean;
  /** True when it could only be read through a history key share. */
  viaKeyShare: boolean;
}

export interface E2EChatOptions {
  client: ChatUserClient;
  /** My external user id. */
  userId: string;
  /** This device's keyring (kept by the app in protected storage: exportKeyring/importKeyring). */
  keyring: DeviceKeyring;
  /** Refuse messages whose signature cannot be verified (default true: every SDK sender signs). */
  requireSignatures?: boolean;
  /** fetch used for the presigned S3 URLs (default: global fetch). */
  fetch?: typeof fetch;
  /** Index message words for blind-index search (default true; see docs/search.md for the leakage). */
  searchIndex?: boolean;
  /** Commit to every sent payload (message franking) so recipients can report it verifiably (default true). */
  franking?: boolean;
  /** The tenant id (part of the franking context); default: asked once from GET /v1/auth/whoami. */
  tenantId?: string;
}

export interface SendOptions {
  threadParentId?: string;
  clientMsgId?: string;
  mentions?: string[];
}

const FILE_ALGORITHM = 'xchacha20poly1305-file-v1';
const PREVIEW_CHARS = 120;

/**
 * End-to-end encrypted chat for one device of one user, over ChatUserClient. Encrypts every message
 * for every live device of every member (fetching their keys from the directory), signs it, adds
 * blind-index tokens and an encrypted preview under the conversation key, encrypts reactions and
 * files, and decrypts what comes back (verifying signatures, falling back to history key shares).
 * The server only ever gets ciphertext.
 */
export class E2EChat {
  readonly client: ChatUserClient;
  readonly userId: string;
  private keyringValue: DeviceKeyring;
  private readonly fetchImpl: typeof fetch;
  private readonly requireSignatures: boolean;
  private readonly searchIndex: boolean;
  private readonly franking: boolean;
  private tenantIdValue: Promise<string> | undefined;
  /** conversation -> recipient devices (refreshed on missing_recipient_keys). */
  private readonly recipients = new Map<string, RecipientPublicKey[]>();
  /** user -> every published key version (to verify signatures of old messages). */
  private readonly bundles = new Map<string, DeviceKeyView[]>();
  /** conversation -> key version -> conversation key. */
  private readonly conversationKeys = new Map<string, Map<number, Uint8Array>>();

  constructor(opts: E2EChatOptions) {
    this.client = opts.client;
    this.userId = opts.userId;
    this.keyringValue = opts.keyring;
    this.requireSignatures = opts.requireSignatures ?? true;
    this.searchIndex = opts.searchIndex ?? true;
    this.franking = opts.franking ?? true;
    if (opts.tenantId !== undefined) this.tenantIdValue = Promise.resolve(opts.tenantId);
    const f = opts.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new Error('No fetch implementation: pass one in the options');
    this.fetchImpl = f.bind(globalThis);
  }

  get keyring(): DeviceKeyring {
    return this.keyringValue;
  }

  get deviceId(): string {
    return this.keyringValue.device_id;
  }

  /** My tenant's id (the franking context binds it), from the options or asked once. */
  tenantId(): Promise<string> {
    if (!this.tenantIdValue) {
      const p = this.client.whoami().then((w) => w.tenant_id);
      this.tenantIdValue = p;
      p.catch(() => {
        if (this.tenantIdValue === p) this.tenantIdValue = undefined;
      });
    }
    return this.tenantIdValue;
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
  private async loadConversationKeys(conversationId: string, refresh = false): Promise<Map<number, Uint8Array>> {
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

  // ---------------------------------------------------------------- sending

  private signingKey(): Uint8Array | undefined {
    return getKeys(this.keyringValue).signing?.secretKey;
  }

  /**
   * With franking (the default) the payload is committed to (franking.ts): the franking key goes inside
   * the encrypted plaintext, the commitment on the envelope, bound into its associated data and signature.
   */
  private async envelope(conversationId: string, type: MessageType, payload: MessagePayload, recipients: RecipientPublicKey[]): Promise<EncryptedMessageContent> {
    const current = getKeys(this.keyringValue);
    let plaintext: string | Uint8Array = JSON.stringify(payload);
    let frankingCommitment: string | undefined;
    if (this.franking) {
      const sealed = sealFrankedPayload(plaintext, { tenantId: await this.tenantId(), conversationId, senderId: this.userId, senderDeviceId: current.device_id });
      plaintext = sealed.plaintext;
      frankingCommitment = sealed.commitment;
    }
    return encryptMessage({
      plaintext,
      ...(frankingCommitment !== undefined ? { frankingCommitment } : {}),
      type,
      conversationId,
      senderId: this.userId,
      senderDevice: { device_id: current.device_id, key_version: current.key_version },
      recipients,
      signingKey: this.signingKey(),
    });
  }

  /**
   * Encrypts a payload into a send body (envelope for every member device, signed; tokens and
   * preview under the conversation key when `indexText` is given) without sending it: for
   * ChatSocket.send. On 422 missing_recipient_keys call it again with `refreshKeys: true`.
   */
  async preparePayload(
    conversationId: string,
    type: MessageType,
    payload: MessagePayload,
    opts: SendOptions & { indexText?: string; refreshKeys?: boolean } = {},
  ): Promise<SendMessageInput> {
    const input: SendMessageInput = {
      content: await this.envelope(conversationId, type, payload, await this.memberDevices(conversationId, opts.refreshKeys ?? false)),
      client_msg_id: opts.clientMsgId ?? randomId(),
    };
    if (opts.threadParentId) input.thread_parent_id = opts.threadParentId;
    if (opts.mentions?.length) input.mentions = opts.mentions;
    if (opts.indexText !== undefined) {
      const { key } = await this.conversationKey(conversationId);
      input.preview = encryptPreview(opts.indexText.slice(0, PREVIEW_CHARS), key, { conversationId });
      if (this.searchIndex) {
        const tokens = searchTokens(opts.indexText, key).slice(0, 512);
        if (tokens.length) input.search_tokens = tokens;
      }
    }
    return input;
  }

  prepareText(conversationId: string, text: string, opts: SendOptions & { refreshKeys?: boolean } = {}): Promise<SendMessageInput> {
    return this.preparePayload(conversationId, 'text', { v: 1, kind: 'text', text }, { ...opts, indexText: text });
  }

  /** Sends any payload over REST; retries once with fresh member keys on missing_recipient_keys. */
  async sendPayload(conversationId: string, type: MessageType, payload: MessagePayload, opts: SendOptions & { indexText?: string } = {}): Promise<MessageView> {
    const clientMsgId = opts.clientMsgId ?? randomId();
    const first = await this.preparePayload(conversationId, type, payload, { ...opts, clientMsgId });
    try {
      return await this.client.sendMessage(conversationId, first);
    } catch (err) {
      if (!isChatApiError(err, 'missing_recipient_keys')) throw err;
      return this.client.sendMessage(conversationId, await this.preparePayload(conversationId, type, payload, { ...opts, clientMsgId, refreshKeys: true }));
    }
  }

  sendText(conversationId: string, text: string, opts: SendOptions = {}): Promise<MessageView> {
    return this.sendPayload(conversationId, 'text', { v: 1, kind: 'text', text }, { ...opts, indexText: text });
  }

  /** A reply in the thread of `parentId`. */
  reply(conversationId: string, parentId: string, text: string, opts: SendOptions = {}): Promise<MessageView> {
    return this.sendText(conversationId, text, { ...opts, threadParentId: parentId });
  }

  /**
   * Encrypts the file, uploads the ciphertext straight to S3 with a presigned PUT (bound to its size
   * and MD5), confirms it, sends a message carrying the file key, and links the file to the message.
   */
  async sendFile(
    conversationId: string,
    bytes: Uint8Array,
    opts: SendOptions & { name?: string; mimeType?: string; caption?: string; type?: MessageType } = {},
  ): Promise<{ message: MessageView; file: FileView }> {
    const enc = encryptFile(bytes, { associatedData: conversationId });
    const ticket = await this.client.createUpload({
      size: enc.ciphertext.length,
      checksum: enc.checksum,
      content_md5: md5Base64(enc.ciphertext),
      // The real type travels inside the encrypted message; the server sees ciphertext only.
      mime_type: 'application/octet-stream',
      sharing: { type: 'chat', conversation_id: conversationId },
      encryption: { algorithm: FILE_ALGORITHM },
    });
    await this.putObject(ticket.upload.url, ticket.upload.headers, enc.ciphertext);
    const file = await this.client.confirmUpload(ticket.file.id);
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
    const message = await this.sendPayload(conversationId, opts.type ?? 'file', payload, { ...opts, indexText: opts.caption ?? undefined });
    const attached = await this.client.attachFile(file.id, message.id);
    return { message, file: attached };
  }

  private async putObject(url: string, headers: Record<string, string>, body: Uint8Array): Promise<void> {
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method: 'PUT', headers, body: body as unknown as BodyInit });
    } catch (err) {
      throw new ChatApiError(0, 'storage_error', `upload failed: ${(err as Error).message}`);
    }
    if (!res.ok) throw new ChatApiError(res.status, 'storage_error', `upload refused by storage (HTTP ${res.status})`, await res.text().catch(() => undefined));
  }

  /** Downloads and decrypts a file received in a message (checksum verified before decryption). */
  async downloadFile(conversationId: string, payload: Extract<MessagePayload, { kind: 'file' }>): Promise<Uint8Array> {
    const { download } = await this.client.downloadUrl(payload.file_id);
    let res: Response;
    try {
      res = await this.fetchImpl(download.url, { method: 'GET', headers: download.headers });
    } catch (err) {
      throw new ChatApiError(0, 'storage_error', `download failed: ${(err as Error).message}`);
    }
    if (!res.ok) throw new ChatApiError(res.status, 'storage_error', `download refused by storage (HTTP ${res.status})`);
    const ciphertext = new Uint8Array(await res.arrayBuffer());
    return decryptFile({ ciphertext, key: base64ToBytes(payload.key), nonce: base64ToBytes(payload.nonce), checksum: payload.checksum, associatedData: conversationId });
  }

  // ---------------------------------------------------------------- reactions

  /** Adds an encrypted reaction (the server stores a token, countable but unreadable). */
  async react(conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    const { key } = await this.conversationKey(conversationId);
    return this.client.addReaction(conversationId, messageId, encryptReaction(emoji, key, { conversationId, messageId }));
  }

  async unreact(conversationId: string, messageId: string, emoji: string): Promise<MessageView> {
    const { key } = await this.conversationKey(conversationId);
    return this.client.removeReaction(conversationId, messageId, encryptReaction(emoji, key, { conversationId, messageId }));
  }

  /** The message's reactions in clear (those no key of mine opens are left out). */
  async reactions(message: MessageView): Promise<Array<{ user_id: string; emoji: string }>> {
    const keys = await this.loadConversationKeys(message.conversation_id);
    const out: Array<{ user_id: string; emoji: string }> = [];
    for (const r of message.reactions) {
      if (!isReactionToken(r.emoji)) continue;
      for (const key of keys.values()) {
        try {
          out.push({ user_id: r.user_id, emoji: decryptReaction(r.emoji, key, { conversationId: message.conversation_id, messageId: message.id }) });
          break;
        } catch {
          // another key version
        }
      }
    }
    return out;
  }

  /** The conversation's last-message preview in clear, or null. */
  async preview(conversationId: string, encrypted: string | null): Promise<string | null> {
    if (!encrypted) return null;
    for (const key of (await this.loadConversationKeys(conversationId)).values()) {
      try {
        return decryptPreview(encrypted, key, { conversationId });
      } catch {
        // another key version
      }
    }
    return null;
  }

  /** Blind-index search under every conversation key version I hold. */
  async search(conversationId: string, query: string): Promise<MessageView[]> {
    const seen = new Map<string, MessageView>();
    for (const key of (await this.loadConversationKeys(conversationId)).values()) {
      const tokens = searchTokens(query, key).slice(0, 16);
      if (!tokens.length) continue;
      for (const m of (await this.client.search(conversationId, tokens)).data) seen.set(m.id, m);
    }
    return [...seen.values()].sort((a, b) => b.seq - a.seq);
  }

  // ---------------------------------------------------------------- reading

  private async senderBundle(userId: string, deviceId: string, version: number): Promise<PublicKeyBundle | null> {
    const find = () => this.bundles.get(userId)?.find((k) => k.device_id === deviceId && k.key_version === version);
    let hit = find();
    if (!hit) {
      this.bundles.set(userId, (await this.client.userKeys(userId, 'all')).data);
      hit = find();
    }
    if (!hit) return null;
    return { device_id: hit.device_id, key_version: hit.key_version, public_key: hit.public_key, ...(hit.signing_key ? { signing_key: hit.signing_key } : {}) };
  }

  /**
   * Decrypts a message for this device: verifies the sender's signature against the directory, then
   * opens the envelope, or, when it holds no key for this device (I joined later), a history key share.
   * Throws CryptoError (NO_WRAPPED_KEY when nothing was ever shared with this device).
   */
  async decrypt(message: MessageView): Promise<DecryptedMessage> {
    if (!message.content) throw new CryptoError('INVALID_INPUT', 'the message has no content (deleted)');
    const content = message.content;
    const bundle = await this.senderBundle(message.sender_id, content.sender_device_id, content.sender_key_version);
    const signing = bundle?.signing_key ? bundle : undefined;
    if (this.requireSignatures && !signing) throw new CryptoError('SIGNATURE_MISSING', 'no signing key is published for the sender device');
    const base = {
      content,
      conversationId: message.conversation_id,
      senderId: message.sender_id,
      myUserId: this.userId,
      myDevice: this.keyringValue,
      ...(signing ? { senderSigningKey: signing } : {}),
    };
    let plaintext: Uint8Array;
    let viaKeyShare = false;
    try {
      plaintext = decryptMessage(base);
    } catch (err) {
      if (!(err instanceof CryptoError) || err.code !== 'NO_WRAPPED_KEY') throw err;
      plaintext = await this.decryptViaShare(message, base, err);
      viaKeyShare = true;
    }
    // Receiver binding: a commitment that does not open to this payload fails here, before anyone reads it.
    const tenantId = content.franking_commitment !== undefined ? await this.tenantId() : 'unused';
    const opened = openFrankedPayload(plaintext, content.franking_commitment, {
      tenantId,
      conversationId: message.conversation_id,
      senderId: message.sender_id,
      senderDeviceId: content.sender_device_id,
    });
    return { message, payload: JSON.parse(opened.payload) as MessagePayload, payloadText: opened.payload, franking: opened.franking, verified: !!signing, viaKeyShare };
  }

  // ---------------------------------------------------------------- reports

  /**
   * Reports a message I decrypted to the tenant's moderators: discloses its payload and franking key
   * (which opens this message's commitment and nothing else), never anything about other messages.
   * The server checks them against the commitment stored with the message (422 franking_mismatch if
   * they do not match); a message sent without franking is stored as unverifiable.
   */
  report(decrypted: DecryptedMessage, reason: ReportReason, opts: { note?: string } = {}): Promise<ReportReceiptView> {
    const m = decrypted.message;
    return this.client.reportMessage(m.conversation_id, m.id, {
      payload: decrypted.payloadText,
      ...(decrypted.franking ? { franking_key: decrypted.franking.franking_key } : {}),
      reason,
      ...(opts.note !== undefined ? { note: opts.note } : {}),
    });
  }

  private async decryptViaShare(message: MessageView, base: Parameters<typeof decryptMessage>[0], original: CryptoError): Promise<Uint8Array> {
    let shares: Awaited<ReturnType<ChatUserClient['messageKeyShares']>>;
    try {
      shares = await this.client.messageKeyShares(message.conversation_id, { message_ids: [message.id] });
    } catch (err) {
      // Not (or no longer) a member: nothing can have been shared with me.
      if (isChatApiError(err, 'not_found')) throw original;
      throw err;
    }
    for (const s of shares.data) {
      try {
        return decryptMessage({ ...base, keyShare: { ephemeral_public_key: s.ephemeral_public_key, encrypted_key: s.encrypted_key } });
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err;
      }
    }
    throw original;
  }

  /** Decrypts a page, leaving out (and reporting) what this device cannot read. */
  async decryptAll(messages: MessageView[]): Promise<{ ok: DecryptedMessage[]; failed: Array<{ message: MessageView; error: unknown }> }> {
    const ok: DecryptedMessage[] = [];
    const failed: Array<{ message: MessageView; error: unknown }> = [];
    for (const m of messages) {
      if (!m.content || m.gap) continue;
      try {
        ok.push(await this.decrypt(m));
      } catch (error) {
        failed.push({ message: m, error });
      }
    }
    return { ok, failed };
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

function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return bytesToBase64(bytes).replace(/[+/=]/g, (c) => (c === '+' ? '-' : c === '/' ? '_' : ''));
}

/** Utility for apps: UTF-8 text to bytes (for sendFile of text content). */
export const textBytes = utf8ToBytes;
