import {
  CryptoError,
  bytesToBase64,
  decryptMessage,
  decryptPreview,
  decryptReaction,
  encryptMessage,
  encryptPreview,
  encryptReaction,
  getKeys,
  isReactionToken,
  openFrankedPayload,
  sealFrankedPayload,
  searchTokens,
  utf8ToBytes,
  type DeviceKeyring,
  type EncryptedMessageContent,
  type MessageType,
  type RecipientPublicKey,
} from './crypto';
import { downloadEncryptedFile, uploadEncryptedFile } from './e2e-files';
import { E2EKeys } from './e2e-keys';
import type { DecryptedMessage, E2EChatOptions, MessagePayload, SendOptions } from './e2e-types';
import { isChatApiError } from './errors';
import type { ChatUserClient } from './user-client';
import type { DeviceKeyView, FileView, MessageView, ReportReason, ReportReceiptView, SendMessageInput } from './types';

export type { DecryptedMessage, E2EChatOptions, MessagePayload, SendOptions } from './e2e-types';

const PREVIEW_CHARS = 120;

/**
 * End-to-end encrypted chat for one device of one user, over ChatUserClient. Encrypts every message
 * for every live device of every member (fetching their keys from the directory), signs it, adds
 * blind-index tokens and an encrypted preview under the conversation key, encrypts reactions and
 * files, and decrypts what comes back (verifying signatures, falling back to history key shares).
 * The server only ever gets ciphertext.
 *
 * This file sends and reads messages; the keyring, member devices and conversation keys (with their
 * caches and history re-sharing) are in e2e-keys.ts, files in e2e-files.ts, the types in e2e-types.ts.
 */
export class E2EChat {
  readonly client: ChatUserClient;
  readonly userId: string;
  private readonly fetchImpl: typeof fetch;
  private readonly requireSignatures: boolean;
  private readonly searchIndex: boolean;
  private readonly franking: boolean;
  private tenantIdValue: Promise<string> | undefined;
  /** The keyring, member devices, conversation keys and senders' key versions, with their caches (e2e-keys.ts). */
  private readonly k: E2EKeys;

  constructor(opts: E2EChatOptions) {
    this.client = opts.client;
    this.userId = opts.userId;
    this.k = new E2EKeys(opts.client, opts.userId, opts.keyring);
    this.requireSignatures = opts.requireSignatures ?? true;
    this.searchIndex = opts.searchIndex ?? true;
    this.franking = opts.franking ?? true;
    if (opts.tenantId !== undefined) this.tenantIdValue = Promise.resolve(opts.tenantId);
    const f = opts.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new Error('No fetch implementation: pass one in the options');
    this.fetchImpl = f.bind(globalThis);
  }

  get keyring(): DeviceKeyring {
    return this.k.keyring;
  }

  get deviceId(): string {
    return this.k.keyring.device_id;
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

  // ---------------------------------------------------------------- device and conversation keys (e2e-keys.ts)

  /** Publishes this device's current key version to the directory. */
  publishKeys(): Promise<DeviceKeyView> {
    return this.k.publishKeys();
  }

  /**
   * Rotates this device's keys: a new version becomes current and is published; old versions stay in
   * the keyring, so earlier messages still decrypt. Persist the returned keyring.
   */
  rotateKeys(): Promise<DeviceKeyring> {
    return this.k.rotateKeys();
  }

  /** Every live device of every member, as recipients (cached per conversation). */
  memberDevices(conversationId: string, refresh = false): Promise<RecipientPublicKey[]> {
    return this.k.memberDevices(conversationId, refresh);
  }

  /**
   * The newest conversation key I hold (creating version 1 when the conversation has none). Used for
   * previews, search tokens and reactions. Every version shared with me is kept for older data.
   */
  conversationKey(conversationId: string): Promise<{ version: number; key: Uint8Array }> {
    return this.k.conversationKey(conversationId);
  }

  /** Creates a conversation key version wrapped for every member device (e.g. after removing a member). */
  createConversationKey(conversationId: string, version: number): Promise<{ version: number; key: Uint8Array }> {
    return this.k.createConversationKey(conversationId, version);
  }

  /** Rotates the conversation key (new version for the current members only). */
  rotateConversationKey(conversationId: string): Promise<{ version: number; key: Uint8Array }> {
    return this.k.rotateConversationKey(conversationId);
  }

  /**
   * Gives members who joined later access to earlier messages (opt-in, see docs/e2e.md): re-wraps each
   * message key I can open for their devices, and shares every conversation key version I hold.
   * Walks history newest first, at most `limit` messages. Returns how many messages were shared.
   */
  shareHistory(conversationId: string, newMemberIds: string[], opts: { limit?: number } = {}): Promise<number> {
    return this.k.shareHistory(conversationId, newMemberIds, opts);
  }


  // ---------------------------------------------------------------- sending

  private signingKey(): Uint8Array | undefined {
    return getKeys(this.k.keyring).signing?.secretKey;
  }

  /**
   * With franking (the default) the payload is committed to (franking.ts): the franking key goes inside
   * the encrypted plaintext, the commitment on the envelope, bound into its associated data and signature.
   */
  private async envelope(conversationId: string, type: MessageType, payload: MessagePayload, recipients: RecipientPublicKey[]): Promise<EncryptedMessageContent> {
    const current = getKeys(this.k.keyring);
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
    const { file, payload } = await uploadEncryptedFile(this.client, this.fetchImpl, conversationId, bytes, opts);
    const message = await this.sendPayload(conversationId, opts.type ?? 'file', payload, { ...opts, indexText: opts.caption ?? undefined });
    const attached = await this.client.attachFile(file.id, message.id);
    return { message, file: attached };
  }

  /** Downloads and decrypts a file received in a message (checksum verified before decryption). */
  downloadFile(conversationId: string, payload: Extract<MessagePayload, { kind: 'file' }>): Promise<Uint8Array> {
    return downloadEncryptedFile(this.client, this.fetchImpl, conversationId, payload);
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
    const keys = await this.k.loadConversationKeys(message.conversation_id);
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
    for (const key of (await this.k.loadConversationKeys(conversationId)).values()) {
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
    for (const key of (await this.k.loadConversationKeys(conversationId)).values()) {
      const tokens = searchTokens(query, key).slice(0, 16);
      if (!tokens.length) continue;
      for (const m of (await this.client.search(conversationId, tokens)).data) seen.set(m.id, m);
    }
    return [...seen.values()].sort((a, b) => b.seq - a.seq);
  }

  // ---------------------------------------------------------------- reading
  /**
   * Decrypts a message for this device: verifies the sender's signature against the directory, then
   * opens the envelope, or, when it holds no key for this device (I joined later), a history key share.
   * Throws CryptoError (NO_WRAPPED_KEY when nothing was ever shared with this device).
   */
  async decrypt(message: MessageView): Promise<DecryptedMessage> {
    if (!message.content) throw new CryptoError('INVALID_INPUT', 'the message has no content (deleted)');
    const content = message.content;
    const bundle = await this.k.senderBundle(message.sender_id, content.sender_device_id, content.sender_key_version);
    const signing = bundle?.signing_key ? bundle : undefined;
    if (this.requireSignatures && !signing) throw new CryptoError('SIGNATURE_MISSING', 'no signing key is published for the sender device');
    const base = {
      content,
      conversationId: message.conversation_id,
      senderId: message.sender_id,
      myUserId: this.userId,
      myDevice: this.k.keyring,
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
}

function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return bytesToBase64(bytes).replace(/[+/=]/g, (c) => (c === '+' ? '-' : c === '/' ? '_' : ''));
}

/** Utility for apps: UTF-8 text to bytes (for sendFile of text content). */
export const textBytes = utf8ToBytes;