import { ChatSocket, ChatUserClient, E2EChat, isChatApiError, type ConversationView, type MessageView } from '@sdk';
import { followMembership, openAllConversations } from '@sdk/mls';
import { holdDeviceLock, IdbMlsStateStore, loadOrCreateKeyring, StoredEpochKeys } from './keystore';
import type { UiMessage } from './ui-message';
import { DisplayNames } from './names';
import { V2Chat } from './e2e-v2';
import { awaitPeers, joinNotice, toUi } from './session-messages';
import { wireSocket } from './session-events';

export type { FilePayload, UiMessage } from './ui-message';

const PAGE = 30;

/**
 * One signed-in user on this browser: REST (ChatUserClient), the socket (ChatSocket) and all
 * cryptography: new sends in E2E v2 (V2Chat over the SDK's MlsChat, MLS state and epoch keys in
 * IndexedDB), stored v1 messages, previews, search tokens and reactions through E2EChat (v1 keys).
 * Holds what the screens show and tells them when it changes.
 */
export class ChatSession {
  readonly client: ChatUserClient;
  readonly socket: ChatSocket;
  readonly e2e: E2EChat;
  /** Set by start(): the MLS side. */
  v2!: V2Chat;
  readonly names: DisplayNames;
  readonly conversations = new Map<string, ConversationView>();
  readonly previews = new Map<string, string | null>();
  readonly messages = new Map<string, Map<string, UiMessage>>();
  readonly hasOlder = new Map<string, boolean>();
  readonly typing = new Map<string, Map<string, number>>();
  readonly presence = new Map<string, string>();
  openId: string | null = null;
  connected = false;
  notice: string | null = null;
  /** Key backup: none yet, on in this browser, or made elsewhere and restorable here with the recovery key. */
  backup: { state: 'none' | 'on' | 'restorable'; entries: number } | null = null;
  /** Users whose device joined each conversation's group while this session ran (conversation:device_joined). */
  readonly joinedUsers = new Map<string, Set<string>>();
  readonly joinWaiters = new Set<() => void>();
  private readonly waitedFor = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private releaseDevice: () => void = () => undefined;

  private constructor(
    readonly userId: string,
    token: string,
    e2eFactory: (client: ChatUserClient) => E2EChat,
  ) {
    this.client = new ChatUserClient({ baseUrl: location.origin, token });
    this.e2e = e2eFactory(this.client);
    this.names = new DisplayNames(this.client, () => this.changed());
    this.socket = new ChatSocket({ url: location.origin, token });
  }

  static async start(token: string, userId: string, tenantId: string, onWait: () => void = () => undefined): Promise<ChatSession> {
    const release = await holdDeviceLock(tenantId, userId, onWait);
    try {
      return await ChatSession.startHolding(token, userId, tenantId, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  private static async startHolding(token: string, userId: string, tenantId: string, release: () => void): Promise<ChatSession> {
    const { keyring } = await loadOrCreateKeyring(tenantId, userId);
    const s = new ChatSession(userId, token, (client) => new E2EChat({ client, userId, keyring }));
    s.releaseDevice = release;
    // Publishing the same key version again is harmless; it also restores a device removed elsewhere.
    await s.e2e.publishKeys().catch((err) => {
      if (!isChatApiError(err, 'conflict')) throw err;
    });
    const store = new IdbMlsStateStore(tenantId, userId, s.e2e.deviceId);
    s.v2 = await V2Chat.create({ client: s.client, e2e: s.e2e, keys: new StoredEpochKeys(store), store });
    wireSocket(s);
    // Membership follows the server: groups of conversations this user is added to, removals committed.
    followMembership(s.v2.chat, s.socket);
    await s.refreshConversations();
    await s.socket.connect();
    // This device in the group of every conversation (the first time, or back after a reload); in the background.
    void openAllConversations(s.v2.chat).then(
      () => s.changed(),
      () => undefined,
    );
    void s.refreshBackup();
    return s;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    for (const fn of this.listeners) fn();
  }

  close(): void {
    this.socket.close();
    this.releaseDevice();
  }

  // ------------------------------------------------------------------ conversations

  sortedConversations(): ConversationView[] {
    return [...this.conversations.values()].sort((a, b) => (b.last_message?.sent_at ?? b.updated_at).localeCompare(a.last_message?.sent_at ?? a.updated_at));
  }

  title(c: ConversationView): string {
    if (c.metadata.name) return c.metadata.name;
    const others = c.participants.map((p) => p.user_id).filter((u) => u !== this.userId);
    return others.map((u) => this.names.get(u)).join(', ') || 'Just me';
  }

  async refreshConversations(): Promise<void> {
    const page = await this.client.listConversations({ limit: 100 });
    for (const c of page.data) this.conversations.set(c.id, c);
    this.names.want(page.data.filter((c) => c.type === 'direct').flatMap((c) => c.participants.map((p) => p.user_id)));
    await Promise.all(page.data.map((c) => this.refreshPreview(c)));
    this.changed();
    if (this.openId) await this.markRead(this.openId);
  }

  /** One conversation again (it changed, or my membership did): gone from the list when I can no longer see it. */
  async refreshOne(conversationId: string): Promise<void> {
    const c = await this.client.getConversation(conversationId).catch(() => null);
    if (!c || !c.participants.some((p) => p.user_id === this.userId)) {
      this.conversations.delete(conversationId);
      if (this.openId === conversationId) this.openId = null;
    } else {
      this.conversations.set(c.id, c);
      await this.refreshPreview(c);
      if (this.openId === c.id) await this.markRead(c.id);
    }
    this.changed();
  }

  private async refreshPreview(c: ConversationView): Promise<void> {
    const enc = c.last_message?.content_preview ?? null;
    this.previews.set(c.id, enc ? await this.v2.chat.preview(c.id, enc).catch(() => null) : null);
  }

  async openDirect(userId: string): Promise<string> {
    const c = await this.client.openDirect(userId);
    this.conversations.set(c.id, c);
    this.changed();
    return c.id;
  }

  async createGroup(name: string, memberIds: string[]): Promise<string> {
    const c = await this.client.createConversation({ type: 'group', name, member_ids: memberIds });
    this.conversations.set(c.id, c);
    this.changed();
    return c.id;
  }

  async open(conversationId: string | null): Promise<void> {
    this.openId = conversationId;
    this.changed();
    if (!conversationId) return;
    if (!this.messages.has(conversationId)) await this.loadOlder(conversationId);
    const c = this.conversations.get(conversationId);
    const others = c?.participants.map((p) => p.user_id).filter((u) => u !== this.userId) ?? [];
    this.names.want(others);
    if (others.length) {
      const r = (await this.socket.presence(others).catch(() => ({ users: [] }))) as { users: Array<{ user_id: string; status: string }> };
      for (const u of r.users) this.presence.set(u.user_id, u.status);
    }
    await this.markRead(conversationId);
  }

  /** Marks the open conversation read up to the newest seq known here (the list's or a loaded message's). */
  async markRead(conversationId: string): Promise<void> {
    const c = this.conversations.get(conversationId);
    if (!c || document.visibilityState !== 'visible') return;
    const seq = Math.max(c.last_seq, 0, ...[...(this.messages.get(conversationId)?.values() ?? [])].map((u) => u.view.seq));
    if (seq < 1) return;
    const mine = c.participants.find((p) => p.user_id === this.userId);
    if (mine && mine.last_read_seq >= seq && c.unread_count === 0) return;
    c.unread_count = 0;
    if (mine) mine.last_read_seq = Math.max(mine.last_read_seq, seq);
    this.changed();
    await this.socket.markRead(conversationId, seq).catch(() => undefined);
  }

  // ------------------------------------------------------------------ messages

  /** The conversation's main line: thread replies show in their thread only. */
  sortedMessages(conversationId: string): UiMessage[] {
    return [...(this.messages.get(conversationId)?.values() ?? [])].filter((u) => !u.view.thread?.parent_id).sort((a, b) => a.view.seq - b.view.seq);
  }

  // ------------------------------------------------------------------ threads, search, devices

  readonly threads = new Map<string, Map<string, UiMessage>>();

  threadReplies(parentId: string): UiMessage[] {
    return [...(this.threads.get(parentId)?.values() ?? [])].sort((a, b) => a.view.seq - b.view.seq);
  }

  async loadThread(conversationId: string, parentId: string): Promise<void> {
    const page = await this.client.replies(conversationId, parentId, { limit: 100 });
    const map = new Map<string, UiMessage>();
    for (const m of page.data) if (!m.gap) this.put(map, await this.toUi(m));
    this.threads.set(parentId, map);
    this.changed();
  }

  async reply(conversationId: string, parentId: string, text: string): Promise<void> {
    await this.awaitPeers(conversationId);
    const m = await this.v2.sendText(conversationId, text, { threadParentId: parentId });
    const map = this.threads.get(parentId);
    if (map) this.put(map, await this.toUi(m));
    this.changed();
  }

  /** Blind-index search (docs/search.md): tokens made here under each epoch key held (and v1 conversation keys); results decrypted here. */
  async search(conversationId: string, query: string): Promise<UiMessage[]> {
    const found = await Promise.all((await this.v2.chat.search(conversationId, query)).map((m) => this.toUi(m)));
    return found.filter((u): u is UiMessage => u !== null);
  }

  async loadOlder(conversationId: string): Promise<void> {
    const have = this.sortedMessages(conversationId);
    const before = have[0]?.view.seq;
    const page = await this.client.history(conversationId, { limit: PAGE, ...(before ? { before_seq: before } : {}) });
    const map = this.messages.get(conversationId) ?? new Map<string, UiMessage>();
    this.messages.set(conversationId, map);
    for (const m of page.data) if (!m.gap) this.put(map, await this.toUi(m));
    this.hasOlder.set(conversationId, page.next_cursor !== null && page.data.length > 0);
    const newest = Math.max(0, ...[...map.values()].map((u) => u.view.seq));
    if (newest && this.socket.position(conversationId) === undefined) this.socket.track(conversationId, newest);
    this.changed();
  }

  private put(map: Map<string, UiMessage>, ui: UiMessage | null): void {
    if (ui) map.set(ui.view.id, ui);
  }

  /** What the screen shows of a stream entry (session-messages.ts). */
  private toUi(m: MessageView): Promise<UiMessage | null> {
    return toUi(this, m);
  }

  /** "Bob's new device joined", for devices other than this browser (null when only this one). */
  joinNotice(joined: Array<{ user_id: string; device_id: string }>): string | null {
    return joinNotice(this, joined);
  }

  /** The first send to a conversation waits (bounded) for online members' devices to join (session-messages.ts). */
  private awaitPeers(conversationId: string): Promise<void> {
    return awaitPeers(this, this.waitedFor, conversationId);
  }

  async upsertMessage(m: MessageView): Promise<void> {
    const map = this.messages.get(m.conversation_id);
    const thread = m.thread?.parent_id ? this.threads.get(m.thread.parent_id) : undefined;
    if (!map && !thread) return;
    const ui = await this.toUi(m);
    if (map) this.put(map, ui);
    if (thread) this.put(thread, ui);
  }

  /** For what needs the v1 conversation key (reactions on v1 messages): a device newer than the key holds
   *  no share of it, so it makes the next version, wrapped for every current member device, and tries again. */
  private async withConversationKey<T>(conversationId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isChatApiError(err, 'not_found') || (err as { status?: number }).status !== 0) throw err;
      await this.e2e.rotateConversationKey(conversationId);
      return fn();
    }
  }

  async sendText(conversationId: string, text: string): Promise<void> {
    await this.awaitPeers(conversationId);
    await this.afterSend(await this.v2.sendText(conversationId, text));
  }

  async sendFile(conversationId: string, file: File): Promise<void> {
    const bytes = new Uint8Array(await file.arrayBuffer());
    await this.awaitPeers(conversationId);
    await this.afterSend(await this.v2.sendFile(conversationId, bytes, { name: file.name, mimeType: file.type || 'application/octet-stream' }));
  }

  private async afterSend(m: MessageView): Promise<void> {
    await this.upsertMessage(m);
    this.bumpConversation(m, false);
    this.changed();
  }

  async edit(conversationId: string, messageId: string, text: string): Promise<void> {
    await this.upsertMessage(await this.v2.editText(conversationId, messageId, text));
    this.changed();
  }

  async remove(conversationId: string, messageId: string): Promise<void> {
    await this.upsertMessage(await this.client.deleteMessage(conversationId, messageId));
    this.changed();
  }

  async toggleReaction(ui: UiMessage, emoji: string): Promise<void> {
    const mine = ui.reactions.find((r) => r.emoji === emoji)?.mine;
    // v2 messages: under the key of the message's epoch; v1 ones: under the v1 conversation key (through E2EChat).
    const m = await this.withConversationKey(ui.view.conversation_id, () => (mine ? this.v2.chat.unreact(ui.view, emoji) : this.v2.chat.react(ui.view, emoji)));
    await this.upsertMessage(m);
    this.changed();
  }

  async download(ui: UiMessage): Promise<Blob> {
    const bytes = await this.e2e.downloadFile(ui.view.conversation_id, ui.file!);
    return new Blob([bytes as BlobPart], { type: ui.file!.mime_type ?? 'application/octet-stream' });
  }

  typingNow(conversationId: string): void {
    void this.socket.typing(conversationId, true).catch(() => undefined);
  }

  typers(conversationId: string): string[] {
    const now = Date.now();
    return [...(this.typing.get(conversationId)?.entries() ?? [])].filter(([, until]) => until > now).map(([u]) => u);
  }

  /** The receipt of my message: read (or delivered) once every other member's position reached it. */
  receipt(conversationId: string, seq: number): 'read' | 'delivered' | 'sent' {
    const others = this.conversations.get(conversationId)?.participants.filter((p) => p.user_id !== this.userId) ?? [];
    if (!others.length) return 'sent';
    return others.every((p) => p.last_read_seq >= seq) ? 'read' : others.every((p) => p.last_delivered_seq >= seq) ? 'delivered' : 'sent';
  }

  // ------------------------------------------------------------------ live events

  bumpConversation(m: MessageView, incoming: boolean): void {
    const c = this.conversations.get(m.conversation_id);
    if (!c) return;
    c.last_seq = Math.max(c.last_seq, m.seq);
    c.last_message = { content_preview: m.preview, sender_id: m.sender_id, sent_at: m.created_at, seq: m.seq, message_id: m.id };
    if (incoming && this.openId !== m.conversation_id) c.unread_count += 1;
    void this.refreshPreview(c).then(() => this.changed());
  }

  // ------------------------------------------------------------------ key backup

  async refreshBackup(): Promise<void> {
    this.backup = await this.v2.backupState().catch(() => this.backup);
    this.changed();
  }

  /** Sets up key backup; returns the recovery key (shown once). */
  async setUpBackup(): Promise<string> {
    const { recoveryKey } = await this.v2.setUpBackup();
    await this.refreshBackup();
    return recoveryKey;
  }

  /** Restores the epoch keys of the backup, then reads every loaded message again. */
  async restoreBackup(recoveryKey: string): Promise<number> {
    const n = await this.v2.restore(recoveryKey);
    await this.refreshBackup();
    const open = this.openId;
    this.messages.clear();
    this.threads.clear();
    await Promise.all([...this.conversations.values()].map((c) => this.refreshPreview(c)));
    if (open) await this.loadOlder(open);
    this.changed();
    return n;
  }
}
