/**
 * E2E v2 for one device of one user over ChatUserClient (docs/e2e.md, "Wire format v2"): one MLS
 * group per conversation, bound at the server; commits and messages in the conversation's seq stream.
 *
 * - `open` makes this device a member of the conversation's group: it creates the group when the
 *   conversation has none, else joins by external commit from the GroupInfo the server keeps (the
 *   server allows that only for a current member, for the caller's own device).
 * - `send` seals with the epoch's history key and signs with the leaf key. On the server's 409
 *   `conflict` it catches up (reads the commits of the stream) and retries; on `membership_pending`
 *   it commits the removal of the users the server removed, then retries.
 * - `receive` applies commits and opens messages; a failure carries a DecryptFailureReason.
 *
 * State is in memory, and with an MlsStateStore (`store`) also there: the device (MlsClient), the
 * conversations' groups and rosters (chat-state.ts) and the epoch keys; `create` restores it, so a
 * restarted device goes on in the same groups without joining again. Writes of one conversation are
 * made under its lock, in order.
 *
 * This file is the facade and the send side; joining, catching up and committing are in chat-groups.ts,
 * opening what arrives in chat-receive.ts.
 */
import { utf8ToBytes } from '../crypto/encoding';
import { sealFrankedPayload } from '../crypto/franking';
import type { E2EChat, MessagePayload } from '../e2e-client';
import type { ConvState, MlsChatOptions, MlsReceivedMessage } from './chat-types';
import { isChatApiError } from '../errors';
import { seg } from '../http';
import type { MessageView, SendMessageInput } from '../types';
import type { ChatUserClient } from '../user-client';
import { ChatExtras, type SearchV2Options } from './chat-extras';
import { ChatGroups, MAX_ATTEMPTS } from './chat-groups';
import { ChatHistory } from './chat-history';
import { receiveMessage, v2Binding } from './chat-receive';
import { ChatState } from './chat-state';
import { MlsClient } from './client';
import { sealV2, type MlsMessageContent, type V2MessageType } from './content';
import { MlsError } from './errors';
import { type EpochKeyStore, InMemoryEpochKeyStore, StoredEpochKeyStore } from './history-keys';
import { decodeIdentity } from './identity';

export class MlsChat {
  private readonly convs: Map<string, ConvState>;
  /** The conversations' groups: join, catch-up, commits and the per-conversation lock (chat-groups.ts). */
  private readonly g: ChatGroups;
  /** Key backup of each epoch key, history bundles on a join, and why a key is missing (chat-history.ts). */
  readonly history: ChatHistory;
  /** Previews, reactions and search under epoch keys (chat-extras.ts); also as methods below. */
  readonly extras: ChatExtras;
  private constructor(
    readonly client: ChatUserClient,
    readonly mls: MlsClient,
    readonly keys: EpochKeyStore,
    private readonly state: ChatState,
    private readonly v1?: E2EChat,
    history?: MlsChatOptions['history'],
    searchIndex = true,
  ) {
    this.convs = state.convs;
    this.history = new ChatHistory(client.http, mls.identity, keys, history);
    this.g = new ChatGroups(client, mls, keys, state, this.history);
    const groupId = async (c: string) => this.convs.get(c)?.groupId ?? (await this.g.fetchGroup(c))?.group_id ?? null;
    const epochKey = (c: string, g: string, e: bigint) => this.g.epochKeyFor(c, g, e);
    this.extras = new ChatExtras({ client, keys, history: this.history, tenantId: mls.identity.tenantId, groupId, epochKey, ...(v1 ? { v1 } : {}), searchIndex });
  }

  /**
   * Asks the server for this device's identity (tenant/user/device) and makes its MLS client: restored
   * from `store` when it holds this device, else new (and written to it).
   */
  static async create(opts: MlsChatOptions): Promise<MlsChat> {
    const { identity } = await opts.client.http.get<{ identity: string }>(`/v1/me/devices/${seg(opts.deviceId)}/mls/identity`);
    const id = decodeIdentity(utf8ToBytes(identity));
    if (!id) throw new MlsError('INVALID_INPUT', 'the server sent a malformed MLS identity');
    const mls = await MlsClient.create(id, opts.store ? { store: opts.store } : {});
    const state = new ChatState(opts.store);
    await state.load((groupId) => mls.hasGroup(groupId));
    const keys = opts.keys ?? (opts.store ? new StoredEpochKeyStore(opts.store) : new InMemoryEpochKeyStore());
    return new MlsChat(opts.client, mls, keys, state, opts.v1, opts.history, opts.searchIndex ?? true);
  }

  get userId(): string {
    return this.mls.identity.userId;
  }

  get deviceId(): string {
    return this.mls.identity.deviceId;
  }

  /** Hex group id of the conversation once opened. */
  groupId(conversationId: string): string | undefined {
    return this.convs.get(conversationId)?.groupId;
  }

  epoch(conversationId: string): bigint | undefined {
    const st = this.convs.get(conversationId);
    return st && this.mls.hasGroup(st.groupId) ? this.mls.epoch(st.groupId) : undefined;
  }

  /** Makes this device a member of the conversation's group (creating the group if it has none). */
  open(conversationId: string): Promise<void> {
    return this.g.locked(conversationId, async () => void (await this.g.openLocked(conversationId)));
  }

  /** For the socket's `member:removed`: commit the removal now instead of at the next send. */
  onMembersRemoved(conversationId: string, userIds: string[]): Promise<void> {
    return this.g.locked(conversationId, async () => {
      const st = this.convs.get(conversationId);
      if (st && st.removedAt === undefined && !userIds.includes(this.userId)) await this.g.removeUsers(conversationId, st, userIds);
    });
  }

  /** A sealed v2 envelope for the group's current epoch (without preview and search tokens: see prepareInput). */
  prepare(conversationId: string, payload: MessagePayload, opts: { type?: V2MessageType; frankingCommitment?: string } = {}): Promise<MlsMessageContent> {
    return this.g.locked(conversationId, async () => this.sealLocked(conversationId, await this.g.openLocked(conversationId), payload, opts));
  }

  /**
   * The envelope plus the encrypted preview and blind-index tokens under the same epoch's keys (a
   * text payload's text, or `indexText`): the body of a send, e.g. for ChatSocket.send.
   */
  prepareInput(conversationId: string, payload: MessagePayload, opts: { type?: V2MessageType; indexText?: string } = {}): Promise<{ content: MlsMessageContent; preview?: string; search_tokens?: string[] }> {
    return this.g.locked(conversationId, async () => {
      const st = await this.g.openLocked(conversationId);
      const content = await this.sealLocked(conversationId, st, payload, opts);
      const key = (await this.keys.get(st.groupId, BigInt(content.epoch)))!;
      return { content, ...this.extras.indexFields(conversationId, st.groupId, BigInt(content.epoch), key, payload, opts.indexText) };
    });
  }

  // Previews, reactions and search under epoch keys (chat-extras.ts has the details).
  /** A conversation list item's `last_message.content_preview` in clear, or null (v1 previews through `v1`). */
  preview = (conversationId: string, encrypted: string | null | undefined): Promise<string | null> => this.extras.preview(conversationId, encrypted);
  /** Reacts with an emoji, encrypted under the key of the message's epoch (countable, unreadable to the server). */
  react = (message: MessageView, emoji: string): Promise<MessageView> => this.extras.react(message, emoji);
  unreact = (message: MessageView, emoji: string): Promise<MessageView> => this.extras.unreact(message, emoji);
  /** The message's reactions in clear (those no key of this device opens are left out). */
  reactions = (message: MessageView): Promise<Array<{ user_id: string; emoji: string }>> => this.extras.reactions(message);
  /** Blind-index search across the epochs this device holds keys for (docs/search.md). */
  search = (conversationId: string, query: string, opts: SearchV2Options = {}): Promise<MessageView[]> => this.extras.search(conversationId, query, opts);


  private async sealLocked(conversationId: string, st: ConvState, payload: MessagePayload, opts: { type?: V2MessageType; frankingCommitment?: string }): Promise<MlsMessageContent> {
    const epoch = this.mls.epoch(st.groupId);
    let key = await this.keys.get(st.groupId, epoch);
    if (!key) {
      await this.g.recordEpoch(st.groupId);
      key = (await this.keys.get(st.groupId, epoch))!;
    }
    const type = opts.type ?? (payload.kind === 'file' ? 'file' : 'text');
    // Franked (docs/moderation.md): the franking key inside the ciphertext, the commitment signed in the envelope.
    const franked = sealFrankedPayload(JSON.stringify(payload), { tenantId: this.mls.identity.tenantId, conversationId, senderId: this.userId, senderDeviceId: this.deviceId });
    return sealV2({
      binding: v2Binding(this.mls.identity.tenantId, conversationId, this.userId, this.deviceId, st.groupId, Number(epoch), type),
      key,
      sign: (bytes) => this.mls.signWithLeafKey(bytes),
      plaintext: franked.plaintext,
      frankingCommitment: franked.commitment,
    });
  }

  /**
   * Sends over REST. A 409 `conflict` (the group moved on, or removed members still in the tree) is
   * handled here: catch up or commit the removal, seal again, retry.
   */
  async send(
    conversationId: string,
    payload: MessagePayload,
    opts: { type?: V2MessageType; clientMsgId?: string; threadParentId?: string; mentions?: string[]; frankingCommitment?: string; indexText?: string } = {},
  ): Promise<MessageView> {
    let last: unknown;
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const input = {
        ...(await this.prepareInput(conversationId, payload, opts)),
        ...(opts.clientMsgId ? { client_msg_id: opts.clientMsgId } : {}),
        ...(opts.threadParentId ? { thread_parent_id: opts.threadParentId } : {}),
        ...(opts.mentions ? { mentions: opts.mentions } : {}),
      } as unknown as SendMessageInput;
      try {
        return await this.client.sendMessage(conversationId, input);
      } catch (err) {
        if (!isChatApiError(err, 'conflict')) throw err;
        last = err;
        await this.handleConflict(conversationId, err.details);
      }
    }
    throw last;
  }

  sendText(conversationId: string, text: string, opts: { clientMsgId?: string; threadParentId?: string } = {}): Promise<MessageView> {
    return this.send(conversationId, { v: 1, kind: 'text', text }, opts);
  }

  /** What to do about the server's 409 on a v2 send (also for sends made over the socket). */
  handleConflict(conversationId: string, details: unknown): Promise<void> {
    const d = (details ?? {}) as { reason?: string; epoch?: number; remove_users?: string[]; group_id?: string };
    return this.g.locked(conversationId, async () => {
      // Another group than the one this device holds for the conversation: open (join) the conversation's.
      if (d.reason === 'group' && d.group_id !== this.convs.get(conversationId)?.groupId) this.convs.delete(conversationId);
      const st = await this.g.openLocked(conversationId);
      if (d.reason === 'membership_pending' && d.remove_users?.length) await this.g.removeUsers(conversationId, st, d.remove_users);
      else await this.g.syncTo(conversationId, st, d.epoch ?? Number(this.mls.epoch(st.groupId)) + 1);
    });
  }

  /**
   * A message of the conversation's stream (socket `message:new`, sync or history): applies a commit,
   * or opens a v2 message. Throws MlsDecryptError with the reason when it cannot be read.
   */
  receive(message: MessageView): Promise<MlsReceivedMessage> {
    return this.g.locked(message.conversation_id, () => receiveMessage(this.g, this.v1, message));
  }

}
