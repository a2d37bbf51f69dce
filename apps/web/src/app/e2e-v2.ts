import {
  isChatApiError,
  uploadEncryptedFile,
  type ChatUserClient,
  type E2EChat,
  type EditMessageInput,
  type MessagePayload,
  type MessageView,
  type SendMessageInput,
} from '@sdk';
import {
  KeyBackupClient,
  MlsChat,
  MlsDecryptError,
  InMemoryEpochKeyStore,
  safetyNumber,
  userFingerprint,
  type MlsReceivedMessage,
  type MlsStateStore,
  type UserDevices,
  type V2MessageType,
} from '@sdk/mls';
import type { StoredEpochKeys } from './keystore';

/** Attempts against a moving epoch before giving up (as the SDK's MlsChat.send). */
const MAX_ATTEMPTS = 8;

export interface SafetyEntry {
  userId: string;
  devices: string[];
  /** The user's 30-digit fingerprint over their devices' MLS credentials (SDK userFingerprint). */
  fingerprint: string;
  /** The safety number of this user and me (SDK safetyNumber), for others. */
  withMe: string | null;
}

/**
 * E2E v2 for the app (docs/e2e.md, "Wire format v2"): every send is an MLS (MlsChat) envelope, with
 * its encrypted preview and blind-index search tokens under the keys of the same epoch; reactions and
 * search likewise (MlsChat.react / search: "Previews, reactions and search (v2)"). What was stored in
 * v1 (messages, previews, reactions, tokens) is read through the E2EChat given as `v1`.
 */
export class V2Chat {
  private constructor(
    readonly chat: MlsChat,
    readonly e2e: E2EChat,
    readonly keys: StoredEpochKeys,
    readonly backup: KeyBackupClient,
  ) {}

  static async create(opts: { client: ChatUserClient; e2e: E2EChat; keys: StoredEpochKeys; store: MlsStateStore }): Promise<V2Chat> {
    // `store`: the device's MLS state across reloads (no new join after a reload); `keys`: the epoch keys, in the same store.
    const chat = await MlsChat.create({ client: opts.client, deviceId: opts.e2e.deviceId, keys: opts.keys, v1: opts.e2e, store: opts.store });
    // The backup is bound to the tenant and user the server vouches for (the MLS identity).
    const backup = new KeyBackupClient(opts.client.http, { tenantId: chat.mls.identity.tenantId, userId: chat.userId });
    const backupKey = await opts.keys.backupKey();
    if (backupKey) opts.keys.backupTo = (e) => backup.upload(backupKey, [e]).then(() => undefined);
    return new V2Chat(chat, opts.e2e, opts.keys, backup);
  }

  get deviceId(): string {
    return this.chat.deviceId;
  }

  // ------------------------------------------------------------------ sending

  /**
   * Seals with MlsChat (the envelope, and for text the preview and search tokens under the same epoch's
   * keys) and posts; on the server's 409 the SDK catches up (or commits a pending removal) and it is sealed again.
   */
  private async post(conversationId: string, payload: MessagePayload, type: V2MessageType, extra: Partial<SendMessageInput>, deliver: (input: SendMessageInput) => Promise<MessageView>): Promise<MessageView> {
    let last: unknown;
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const sealed = await this.chat.prepareInput(conversationId, payload, { type });
      try {
        return await deliver({ ...extra, ...sealed } as unknown as SendMessageInput);
      } catch (err) {
        if (!isChatApiError(err, 'conflict')) throw err;
        last = err;
        await this.chat.handleConflict(conversationId, err.details);
      }
    }
    throw last;
  }

  async sendText(conversationId: string, text: string, opts: { threadParentId?: string } = {}): Promise<MessageView> {
    const extra = opts.threadParentId ? { thread_parent_id: opts.threadParentId } : {};
    return this.post(conversationId, { v: 1, kind: 'text', text }, 'text', extra, (input) => this.chat.client.sendMessage(conversationId, input));
  }

  async editText(conversationId: string, messageId: string, text: string): Promise<MessageView> {
    return this.post(conversationId, { v: 1, kind: 'text', text }, 'text', {}, ({ client_msg_id: _c, thread_parent_id: _t, ...input }) =>
      this.chat.client.editMessage(conversationId, messageId, input as EditMessageInput),
    );
  }

  /** As E2EChat.sendFile (the SDK encrypts and uploads to S3 with a presigned PUT); the message carrying the file key is v2. */
  async sendFile(conversationId: string, bytes: Uint8Array, opts: { name: string; mimeType: string }): Promise<MessageView> {
    const client = this.chat.client;
    const { file, payload } = await uploadEncryptedFile(client, fetch, conversationId, bytes, opts);
    const message = await this.post(conversationId, payload, 'file', {}, (input) => client.sendMessage(conversationId, input));
    await client.attachFile(file.id, message.id);
    return message;
  }

  // ------------------------------------------------------------------ reading

  /** A message of the stream: a commit (applied), or a v2 or v1 message opened; MlsDecryptError carries why not. */
  receive(m: MessageView): Promise<MlsReceivedMessage> {
    return this.chat.receive(m);
  }

  /** Users in the conversation's group whose devices are not in it yet (none when this device is not in it). */
  usersWithoutDevice(conversationId: string, userIds: string[]): string[] {
    const groupId = this.chat.groupId(conversationId);
    if (!groupId || !this.chat.mls.hasGroup(groupId)) return [];
    const inTree = new Set(this.chat.mls.members(groupId).map((m) => m.userId));
    return userIds.filter((u) => !inTree.has(u));
  }

  // ------------------------------------------------------------------ device verification

  /** Per user in the conversation's group: their devices there, fingerprint and safety number with me. */
  async safetyNumbers(conversationId: string): Promise<SafetyEntry[]> {
    await this.chat.open(conversationId);
    const groupId = this.chat.groupId(conversationId)!;
    const users = new Map<string, UserDevices>();
    for (const c of this.chat.mls.memberCredentials(groupId)) {
      const u = users.get(c.userId) ?? { tenantId: c.tenantId, userId: c.userId, devices: [] };
      // A device that rejoined may have an older leaf left in the tree: its newest (last) credential counts.
      u.devices = [...u.devices.filter((d) => d.deviceId !== c.deviceId), { deviceId: c.deviceId, signaturePublicKey: c.signaturePublicKey }];
      users.set(c.userId, u);
    }
    const me = users.get(this.chat.userId);
    return [...users.values()]
      .sort((a, b) => (a.userId === this.chat.userId ? -1 : b.userId === this.chat.userId ? 1 : a.userId.localeCompare(b.userId)))
      .map((u) => ({
        userId: u.userId,
        devices: u.devices.map((d) => d.deviceId).sort(),
        fingerprint: (userFingerprint(u).match(/.{5}/g) ?? []).join(' '),
        withMe: me && u.userId !== this.chat.userId ? safetyNumber(me, u) : null,
      }));
  }

  // ------------------------------------------------------------------ key backup

  /** Starts backing up: a new backup key wrapped by a new recovery key (returned: shown once), every epoch key held uploaded. */
  async setUpBackup(): Promise<{ recoveryKey: string; uploaded: number }> {
    const { backupKey, recoveryKey } = await this.backup.create({ recoveryKey: true });
    await this.keys.saveBackupKey(backupKey);
    this.keys.backupTo = (e) => this.backup.upload(backupKey, [e]).then(() => undefined);
    const uploaded = await this.backup.backUp(backupKey, this.keys);
    return { recoveryKey: recoveryKey!, uploaded };
  }

  /** On a new browser: unwraps the backup key with the recovery key and takes every epoch key; this browser backs up from now on. */
  async restore(recoveryKey: string): Promise<number> {
    const restored = new InMemoryEpochKeyStore();
    const { backupKey, restored: count } = await this.backup.restore({ recoveryKey }, restored);
    this.keys.backupTo = null; // they are in the backup already
    for (const e of restored.entries()) await this.keys.put(e.groupId, e.epoch, e.key);
    await this.keys.saveBackupKey(backupKey);
    this.keys.backupTo = (e) => this.backup.upload(backupKey, [e]).then(() => undefined);
    return count;
  }

  /** 'none': no backup yet; 'on': this browser backs up; 'restorable': a backup exists that this browser has not opened. */
  async backupState(): Promise<{ state: 'none' | 'on' | 'restorable'; entries: number }> {
    const status = await this.backup.status();
    if (!status) return { state: 'none', entries: 0 };
    return { state: (await this.keys.backupKey()) ? 'on' : 'restorable', entries: status.entry_count };
  }
}

/** What the screen says instead of the text when a message cannot be read here. */
export function decryptErrorText(err: unknown): string {
  if (err instanceof MlsDecryptError) {
    switch (err.reason) {
      case 'not_a_member_then':
        return 'Sent when you were not a member: not readable';
      case 'key_not_backed_up':
        return 'Sent before this browser joined, and its key is not in your key backup: restore with your recovery key to read it';
      case 'tampered':
        return 'This message failed its integrity check (tampered): not shown';
      case 'unknown_epoch':
        return 'Encrypted under a key this browser does not know (unknown epoch)';
    }
  }
  if (typeof err === 'object' && err !== null && (err as { code?: string }).code === 'NO_WRAPPED_KEY') return 'Sent before this device existed: not readable here';
  return 'Cannot decrypt this message';
}
