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
 */
import { base64ToBytes, bytesToBase64, utf8ToBytes } from '../crypto/encoding';
import { openFrankedPayload, sealFrankedPayload } from '../crypto/franking';
import type { E2EChat, MessagePayload } from '../e2e-client';
import type { ConvState, GroupView, MlsChatOptions, MlsReceivedMessage } from './chat-types';
import { ChatApiError, isChatApiError } from '../errors';
import { seg } from '../http';
import type { MessageView, SendMessageInput } from '../types';
import type { ChatUserClient } from '../user-client';
import { ChatExtras, type SearchV2Options } from './chat-extras';
import { ChatHistory } from './chat-history';
import { ChatState } from './chat-state';
import { MlsClient, type MlsCommitOutput } from './client';
import { isHandshakeContent, isV2Content, openV2, sealV2, type MlsHandshakeContent, type MlsMessageContent, type V2Binding, type V2MessageType } from './content';
import { type DecryptFailureReason, MlsDecryptError, MlsError } from './errors';
import { type EpochKeyStore, InMemoryEpochKeyStore, StoredEpochKeyStore } from './history-keys';
import { decodeIdentity, identityToString } from './identity';

/** Attempts of a send or an external join against a moving epoch before giving up. */
const MAX_ATTEMPTS = 8;

export class MlsChat {
  private readonly convs: Map<string, ConvState>;
  private readonly locks = new Map<string, Promise<unknown>>();
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
    const groupId = async (c: string) => this.convs.get(c)?.groupId ?? (await this.fetchGroup(c))?.group_id ?? null;
    const epochKey = (c: string, g: string, e: bigint) => this.epochKeyFor(c, g, e);
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

  /**
   * Serialises work on one conversation's MLS state (sends, receives and commits interleave otherwise);
   * the work ends once its state is in the store.
   */
  private locked<T>(conversationId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(conversationId) ?? Promise.resolve();
    const work = async () => {
      try {
        return await fn();
      } finally {
        await this.mls.flush();
        await this.state.saveConv(conversationId);
      }
    };
    const run = prev.then(work, work);
    const tail = run.catch(() => undefined);
    this.locks.set(conversationId, tail);
    void tail.then(() => {
      if (this.locks.get(conversationId) === tail) this.locks.delete(conversationId);
    });
    return run;
  }

  /** Makes this device a member of the conversation's group (creating the group if it has none). */
  open(conversationId: string): Promise<void> {
    return this.locked(conversationId, async () => void (await this.openLocked(conversationId)));
  }

  private async openLocked(conversationId: string): Promise<ConvState> {
    const known = this.convs.get(conversationId);
    if (known && this.mls.hasGroup(known.groupId) && known.removedAt === undefined) return known;
    let group = await this.fetchGroup(conversationId);
    if (!group) {
      const groupId = await this.mls.createGroup();
      try {
        const { seq } = await this.postCommit(conversationId, await this.mls.update(groupId));
        return this.enter(conversationId, groupId, seq);
      } catch (err) {
        this.mls.forgetGroup(groupId);
        if (!isChatApiError(err, 'conflict')) throw err;
        group = await this.fetchGroup(conversationId); // another device created it first: join it
        if (!group) throw err;
      }
    }
    return this.joinExternal(conversationId, group);
  }

  private async fetchGroup(conversationId: string): Promise<GroupView | null> {
    try {
      return await this.client.http.get<GroupView>(`/v1/conversations/${seg(conversationId)}/mls`);
    } catch (err) {
      if (isChatApiError(err, 'not_found')) return null;
      throw err;
    }
  }

  private async joinExternal(conversationId: string, first: GroupView): Promise<ConvState> {
    let group: GroupView | null = first;
    let last: unknown;
    for (let i = 0; i < MAX_ATTEMPTS && group; i++) {
      this.mls.forgetGroup(group.group_id);
      const out = await this.mls.joinExternal(base64ToBytes(group.group_info));
      try {
        const { seq } = await this.postCommit(conversationId, out);
        return this.enter(conversationId, out.groupId, seq);
      } catch (err) {
        if (!isChatApiError(err, 'conflict')) throw err;
        last = err;
        group = await this.fetchGroup(conversationId);
      }
    }
    throw last ?? new ChatApiError(404, 'not_found', 'MLS group not found');
  }

  private async enter(conversationId: string, groupId: string, seq: number): Promise<ConvState> {
    const st: ConvState = { groupId, readSeq: seq, joinedEpoch: this.mls.epoch(groupId), ahead: new Map() };
    this.convs.set(conversationId, st);
    await this.recordEpoch(groupId);
    await this.mls.flush();
    await this.state.saveConv(conversationId);
    return st;
  }

  /** Posts a commit: merged when the server took it, discarded (and the error rethrown) otherwise. */
  private async postCommit(conversationId: string, out: MlsCommitOutput): Promise<{ epoch: number; seq: number }> {
    try {
      const res = await this.client.http.post<{ epoch: number; seq: number }>(`/v1/conversations/${seg(conversationId)}/mls/commits`, {
        device_id: this.deviceId,
        commit: bytesToBase64(out.commit),
        group_info: bytesToBase64(out.groupInfo),
        ...(out.welcome ? { welcome: bytesToBase64(out.welcome) } : {}),
      });
      this.mls.mergePendingCommit(out.groupId);
      return res;
    } catch (err) {
      this.mls.discardPendingCommit(out.groupId);
      throw err;
    }
  }

  /** Keeps the current epoch's history key and the members' signature keys of that epoch. */
  private async recordEpoch(groupId: string): Promise<void> {
    const { epoch, key } = await this.mls.exportEpochKey(groupId);
    await this.keys.put(groupId, epoch, key);
    await this.history.onEpochKey(groupId, epoch, key);
    await this.state.recordRoster(groupId, epoch, this.mls.memberSignatureKeys(groupId));
  }

  /**
   * Reads the stream after what was read for commits and applies those of the epochs that follow.
   * Commits are applied by epoch, not by seq (two commits' stream writes may land out of order).
   */
  private async catchUp(conversationId: string, st: ConvState): Promise<void> {
    for (;;) {
      let page;
      try {
        page = await this.client.history(conversationId, { after_seq: st.readSeq, limit: 100 });
      } catch (err) {
        // No longer a member: nothing after this epoch is for this device.
        if (isChatApiError(err, 'not_found')) st.removedAt ??= this.mls.epoch(st.groupId) + 1n;
        throw err;
      }
      for (const m of page.data) {
        st.readSeq = Math.max(st.readSeq, m.seq);
        const c: unknown = m.content;
        if (isHandshakeContent(c) && c.group_id === st.groupId) st.ahead.set(c.epoch, c.encrypted_data);
      }
      if (!page.next_cursor || page.data.length === 0) break;
    }
    await this.applyAhead(conversationId, st);
  }

  private async applyAhead(conversationId: string, st: ConvState): Promise<void> {
    for (;;) {
      const epoch = Number(this.mls.epoch(st.groupId));
      for (const e of st.ahead.keys()) if (e < epoch) st.ahead.delete(e);
      const commit = st.ahead.get(epoch);
      if (commit === undefined) return;
      st.ahead.delete(epoch);
      const before = this.mls.members(st.groupId);
      await this.mls.receive(st.groupId, base64ToBytes(commit));
      if (!this.mls.isMember(st.groupId)) {
        st.removedAt = this.mls.epoch(st.groupId);
        return;
      }
      await this.recordEpoch(st.groupId);
      await this.history.afterCommit(conversationId, st.groupId, this.mls.epoch(st.groupId), before, this.mls.members(st.groupId));
    }
  }

  /**
   * Brings this device to the server's epoch: reads the stream (the commit may still be on its way
   * into it, so a few reads), and if a commit stays missing rejoins from the GroupInfo.
   */
  private async syncTo(conversationId: string, st: ConvState, serverEpoch: number): Promise<ConvState> {
    for (let i = 0; i < 4; i++) {
      try {
        await this.catchUp(conversationId, st);
      } catch (err) {
        // A commit this state cannot apply: the GroupInfo below is the way back in.
        if (err instanceof MlsError && err.code === 'REJECTED') break;
        throw err;
      }
      if (st.removedAt !== undefined || this.mls.epoch(st.groupId) >= BigInt(serverEpoch)) return st;
      await new Promise((r) => setTimeout(r, 50 * 2 ** i));
    }
    const group = await this.fetchGroup(conversationId);
    if (!group) throw new ChatApiError(404, 'not_found', 'MLS group not found');
    const joinedEpoch = st.joinedEpoch;
    const again = await this.joinExternal(conversationId, group);
    again.joinedEpoch = joinedEpoch;
    return again;
  }

  /** Commits the removal of these users' devices still in the tree (after the server removed them). */
  private async removeUsers(conversationId: string, st: ConvState, userIds: string[]): Promise<void> {
    await this.catchUp(conversationId, st);
    const gone = new Set(userIds);
    const targets = this.mls.members(st.groupId).filter((m) => gone.has(m.userId));
    if (!targets.length) return;
    try {
      await this.postCommit(conversationId, await this.mls.removeMembers(st.groupId, targets));
      await this.recordEpoch(st.groupId);
    } catch (err) {
      if (!isChatApiError(err, 'conflict')) throw err; // someone else moved the group: the caller retries
    }
  }

  /** For the socket's `member:removed`: commit the removal now instead of at the next send. */
  onMembersRemoved(conversationId: string, userIds: string[]): Promise<void> {
    return this.locked(conversationId, async () => {
      const st = this.convs.get(conversationId);
      if (st && st.removedAt === undefined && !userIds.includes(this.userId)) await this.removeUsers(conversationId, st, userIds);
    });
  }

  private binding(conversationId: string, senderUserId: string, senderDeviceId: string, groupId: string, epoch: number, type: V2MessageType): V2Binding {
    return { tenantId: this.mls.identity.tenantId, conversationId, senderUserId, senderDeviceId, groupId, epoch, type };
  }

  /** A sealed v2 envelope for the group's current epoch (without preview and search tokens: see prepareInput). */
  prepare(conversationId: string, payload: MessagePayload, opts: { type?: V2MessageType; frankingCommitment?: string } = {}): Promise<MlsMessageContent> {
    return this.locked(conversationId, async () => this.sealLocked(conversationId, await this.openLocked(conversationId), payload, opts));
  }

  /**
   * The envelope plus the encrypted preview and blind-index tokens under the same epoch's keys (a
   * text payload's text, or `indexText`): the body of a send, e.g. for ChatSocket.send.
   */
  prepareInput(conversationId: string, payload: MessagePayload, opts: { type?: V2MessageType; indexText?: string } = {}): Promise<{ content: MlsMessageContent; preview?: string; search_tokens?: string[] }> {
    return this.locked(conversationId, async () => {
      const st = await this.openLocked(conversationId);
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

  /**
   * The history key of an epoch of the conversation's group for previews and reactions: held, or (an
   * epoch ahead of this device) after reading the stream's commits, or (before it joined) from bundles.
   */
  private epochKeyFor(conversationId: string, groupId: string, epoch: bigint): Promise<Uint8Array | undefined> {
    return this.locked(conversationId, async () => {
      const st = this.convs.get(conversationId);
      let key = await this.keys.get(groupId, epoch);
      if (!key && st?.groupId === groupId && st.removedAt === undefined && this.mls.hasGroup(groupId) && epoch > this.mls.epoch(groupId)) {
        await this.catchUp(conversationId, st).catch((err: unknown) => {
          if (!isChatApiError(err, 'not_found') && !(err instanceof MlsError && err.code === 'REJECTED')) throw err;
        });
        key = await this.keys.get(groupId, epoch);
      }
      return key ?? (await this.history.fromBundles(conversationId, groupId, epoch).catch(() => undefined));
    });
  }

  private async sealLocked(conversationId: string, st: ConvState, payload: MessagePayload, opts: { type?: V2MessageType; frankingCommitment?: string }): Promise<MlsMessageContent> {
    const epoch = this.mls.epoch(st.groupId);
    let key = await this.keys.get(st.groupId, epoch);
    if (!key) {
      await this.recordEpoch(st.groupId);
      key = (await this.keys.get(st.groupId, epoch))!;
    }
    const type = opts.type ?? (payload.kind === 'file' ? 'file' : 'text');
    // Franked (docs/moderation.md): the franking key inside the ciphertext, the commitment signed in the envelope.
    const franked = sealFrankedPayload(JSON.stringify(payload), { tenantId: this.mls.identity.tenantId, conversationId, senderId: this.userId, senderDeviceId: this.deviceId });
    return sealV2({
      binding: this.binding(conversationId, this.userId, this.deviceId, st.groupId, Number(epoch), type),
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
    return this.locked(conversationId, async () => {
      // Another group than the one this device holds for the conversation: open (join) the conversation's.
      if (d.reason === 'group' && d.group_id !== this.convs.get(conversationId)?.groupId) this.convs.delete(conversationId);
      const st = await this.openLocked(conversationId);
      if (d.reason === 'membership_pending' && d.remove_users?.length) await this.removeUsers(conversationId, st, d.remove_users);
      else await this.syncTo(conversationId, st, d.epoch ?? Number(this.mls.epoch(st.groupId)) + 1);
    });
  }

  /**
   * A message of the conversation's stream (socket `message:new`, sync or history): applies a commit,
   * or opens a v2 message. Throws MlsDecryptError with the reason when it cannot be read.
   */
  receive(message: MessageView): Promise<MlsReceivedMessage> {
    return this.locked(message.conversation_id, () => this.receiveLocked(message));
  }

  private async receiveLocked(message: MessageView): Promise<MlsReceivedMessage> {
    const conversationId = message.conversation_id;
    const content = message.content as unknown;
    if (isHandshakeContent(content)) {
      const st = this.convs.get(conversationId);
      if (st && content.group_id === st.groupId && st.removedAt === undefined) {
        st.ahead.set(content.epoch, content.encrypted_data);
        // One this state cannot apply is left to the next send or receive (which rejoins if it must).
        await this.applyAhead(conversationId, st).catch((err: unknown) => {
          if (!(err instanceof MlsError && err.code === 'REJECTED')) throw err;
        });
      }
      return { kind: 'handshake', message, epoch: content.epoch, joined: (content as MlsHandshakeContent).joined ?? [] };
    }
    if (!isV2Content(content)) {
      if (!this.v1) throw new MlsError('INVALID_INPUT', 'not a v2 message (pass an E2EChat as `v1` to read v1 envelopes)');
      const d = await this.v1.decrypt(message);
      return { kind: 'message', message, payload: d.payload, sender: { userId: message.sender_id, deviceId: message.content?.sender_device_id ?? '' }, epoch: null };
    }
    const st =
      this.convs.get(conversationId) ??
      (await this.openLocked(conversationId).catch((err: unknown) => {
        // Not (or no longer) a member: this device can never have been in the group for it.
        throw isChatApiError(err, 'not_found') ? new MlsDecryptError('not_a_member_then', 'not a member of the conversation', { cause: err }) : err;
      }));
    if (content.group_id !== st.groupId) throw new MlsDecryptError('tampered', "the envelope names another group than the conversation's");
    const epoch = BigInt(content.epoch);
    let key = await this.keys.get(st.groupId, epoch);
    if (!key && this.mls.hasGroup(st.groupId) && epoch === this.mls.epoch(st.groupId)) {
      // The group moved through the low-level client (MlsClient) without this layer: take the key now.
      await this.recordEpoch(st.groupId);
      key = await this.keys.get(st.groupId, epoch);
    }
    if (!key && st.removedAt === undefined && epoch > this.mls.epoch(st.groupId)) {
      // Only what the stream holds: an epoch no commit leads to stays unknown (no rejoin on a message's word).
      await this.catchUp(conversationId, st).catch((err: unknown) => {
        if (!isChatApiError(err, 'not_found') && !(err instanceof MlsError && err.code === 'REJECTED')) throw err;
      });
      key = await this.keys.get(st.groupId, epoch);
    }
    if (!key && epoch < st.joinedEpoch) key = await this.history.fromBundles(conversationId, st.groupId, epoch);
    if (!key) throw new MlsDecryptError(await this.missingKeyReason(st, message, epoch), `no key for epoch ${epoch}`);
    const sender = identityToString({ tenantId: this.mls.identity.tenantId, userId: message.sender_id, deviceId: content.sender_device_id });
    // The tree of that epoch as this device saw it; an epoch before it joined: the current tree.
    const signer = this.state.signerAt(st.groupId, epoch, sender);
    const senderKey = signer === undefined ? (this.mls.hasGroup(st.groupId) ? this.mls.memberSignatureKeys(st.groupId).get(sender) : undefined) : signer;
    if (!senderKey) throw new MlsDecryptError('tampered', 'the sender device was not in the group at that epoch');
    const binding = this.binding(conversationId, message.sender_id, content.sender_device_id, st.groupId, content.epoch, content.type);
    const plaintext = openV2({ content, binding, key, senderSignatureKey: senderKey });
    let payload: MessagePayload;
    try {
      const ctx = { tenantId: this.mls.identity.tenantId, conversationId, senderId: message.sender_id, senderDeviceId: content.sender_device_id };
      payload = JSON.parse(openFrankedPayload(plaintext, content.franking_commitment, ctx).payload) as MessagePayload;
    } catch (err) {
      throw new MlsDecryptError('tampered', 'the plaintext is not a payload, or does not match its franking commitment', { cause: err });
    }
    return { kind: 'message', message, payload, sender: { userId: message.sender_id, deviceId: content.sender_device_id }, epoch: content.epoch };
  }

  /** After a removal: not a member. Before this device joined: the server's join position decides (chat-history.ts). */
  private async missingKeyReason(st: ConvState, message: MessageView, epoch: bigint): Promise<DecryptFailureReason> {
    if (st.removedAt !== undefined && epoch >= st.removedAt) return 'not_a_member_then';
    if (epoch < st.joinedEpoch) return this.history.missingReason(message.conversation_id, { seq: message.seq, epoch });
    return 'unknown_epoch';
  }
}
