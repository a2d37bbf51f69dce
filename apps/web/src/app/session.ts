import {
  ChatSocket,
  ChatUserClient,
  E2EChat,
  isChatApiError,
  type ConversationView,
  type MessageView,
} from '@sdk';
import { loadOrCreateKeyring } from './keystore';
import { isNoKey, systemText, type UiMessage } from './ui-message';
import { DisplayNames } from './names';

export type { FilePayload, UiMessage } from './ui-message';

const PAGE = 30;
const TYPING_SHOWN_MS = 6000;

/**
 * One signed-in user on this browser: REST (ChatUserClient), the socket (ChatSocket) and all
 * cryptography (E2EChat, keys in IndexedDB). Holds what the screens show and tells them when it changes.
 */
export class ChatSession {
  readonly client: ChatUserClient;
  readonly socket: ChatSocket;
  readonly e2e: E2EChat;
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
  private readonly listeners = new Set<() => void>();

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

  static async start(token: string, userId: string, tenantId: string): Promise<ChatSession> {
    const { keyring } = await loadOrCreateKeyring(tenantId, userId);
    const s = new ChatSession(userId, token, (client) => new E2EChat({ client, userId, keyring }));
    // Publishing the same key version again is harmless; it also restores a device removed elsewhere.
    await s.e2e.publishKeys().catch((err) => {
      if (!isChatApiError(err, 'conflict')) throw err;
    });
    s.wireSocket();
    await s.refreshConversations();
    await s.socket.connect();
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
  private async refreshOne(conversationId: string): Promise<void> {
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
    this.previews.set(c.id, enc ? await this.e2e.preview(c.id, enc).catch(() => null) : null);
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
    for (const m of page.data) if (!m.gap) map.set(m.id, await this.toUi(m));
    this.threads.set(parentId, map);
    this.changed();
  }

  async reply(conversationId: string, parentId: string, text: string): Promise<void> {
    const m = await this.withConversationKey(conversationId, () => this.e2e.reply(conversationId, parentId, text));
    this.threads.get(parentId)?.set(m.id, await this.toUi(m));
    this.changed();
  }

  /** Blind-index search (docs/search.md): tokens made here under the conversation key; results decrypted here. */
  async search(conversationId: string, query: string): Promise<UiMessage[]> {
    return Promise.all((await this.e2e.search(conversationId, query)).map((m) => this.toUi(m)));
  }

  async loadOlder(conversationId: string): Promise<void> {
    const have = this.sortedMessages(conversationId);
    const before = have[0]?.view.seq;
    const page = await this.client.history(conversationId, { limit: PAGE, ...(before ? { before_seq: before } : {}) });
    const map = this.messages.get(conversationId) ?? new Map<string, UiMessage>();
    this.messages.set(conversationId, map);
    for (const m of page.data) if (!m.gap) map.set(m.id, await this.toUi(m));
    this.hasOlder.set(conversationId, page.next_cursor !== null && page.data.length > 0);
    const newest = Math.max(0, ...[...map.values()].map((u) => u.view.seq));
    if (newest && this.socket.position(conversationId) === undefined) this.socket.track(conversationId, newest);
    this.changed();
  }

  private async toUi(m: MessageView): Promise<UiMessage> {
    const ui: UiMessage = { view: m, reactions: [] };
    // Before the content check: a system message has no envelope (content null), only its clear text.
    const sys = m.deleted_at ? null : systemText(m);
    if (sys !== null) return { ...ui, system: true, text: sys };
    if (m.deleted_at || !m.content) return ui;
    try {
      const d = await this.e2e.decrypt(m);
      if (d.payload.kind === 'text') ui.text = d.payload.text;
      else if (d.payload.kind === 'file') ui.file = d.payload;
      ui.reactions = await this.reactionsOf(m);
    } catch (err) {
      ui.error = isNoKey(err) ? 'Sent before this device existed: not readable here' : 'Cannot decrypt this message';
    }
    return ui;
  }

  private async reactionsOf(m: MessageView): Promise<UiMessage['reactions']> {
    const clear = await this.e2e.reactions(m).catch(() => []);
    const out = new Map<string, { emoji: string; count: number; mine: boolean }>();
    for (const r of clear) {
      const e = out.get(r.emoji) ?? { emoji: r.emoji, count: 0, mine: false };
      e.count++;
      if (r.user_id === this.userId) e.mine = true;
      out.set(r.emoji, e);
    }
    return [...out.values()];
  }

  private async upsertMessage(m: MessageView): Promise<void> {
    const map = this.messages.get(m.conversation_id);
    const thread = m.thread?.parent_id ? this.threads.get(m.thread.parent_id) : undefined;
    if (!map && !thread) return;
    const ui = await this.toUi(m);
    map?.set(m.id, ui);
    thread?.set(m.id, ui);
  }

  /** For what needs the conversation key (previews, search tokens, reactions): a device newer than the key holds
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
    const m = await this.withConversationKey(conversationId, () => this.e2e.sendText(conversationId, text));
    await this.afterSend(m);
  }

  async sendFile(conversationId: string, file: File): Promise<void> {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const { message } = await this.e2e.sendFile(conversationId, bytes, { name: file.name, mimeType: file.type || 'application/octet-stream' });
    await this.afterSend(message);
  }

  private async afterSend(m: MessageView): Promise<void> {
    await this.upsertMessage(m);
    this.bumpConversation(m, false);
    this.changed();
  }

  async edit(conversationId: string, messageId: string, text: string): Promise<void> {
    const { client_msg_id: _c, thread_parent_id: _t, ...input } = await this.withConversationKey(conversationId, () => this.e2e.prepareText(conversationId, text));
    await this.upsertMessage(await this.client.editMessage(conversationId, messageId, input));
    this.changed();
  }

  async remove(conversationId: string, messageId: string): Promise<void> {
    await this.upsertMessage(await this.client.deleteMessage(conversationId, messageId));
    this.changed();
  }

  async toggleReaction(ui: UiMessage, emoji: string): Promise<void> {
    const { conversation_id: c, id } = ui.view;
    const mine = ui.reactions.find((r) => r.emoji === emoji)?.mine;
    const m = await this.withConversationKey(c, () => (mine ? this.e2e.unreact(c, id, emoji) : this.e2e.react(c, id, emoji)));
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

  private bumpConversation(m: MessageView, incoming: boolean): void {
    const c = this.conversations.get(m.conversation_id);
    if (!c) return;
    c.last_seq = Math.max(c.last_seq, m.seq);
    c.last_message = { content_preview: m.preview, sender_id: m.sender_id, sent_at: m.created_at, seq: m.seq, message_id: m.id };
    if (incoming && this.openId !== m.conversation_id) c.unread_count += 1;
    void this.refreshPreview(c).then(() => this.changed());
  }

  private wireSocket(): void {
    const s = this.socket;
    s.on('connected', () => {
      this.connected = true;
      this.changed();
    });
    s.on('disconnected', () => {
      this.connected = false;
      this.changed();
    });
    s.on('message:new', async (m) => {
      if (!this.conversations.has(m.conversation_id)) await this.refreshConversations();
      const known = this.messages.get(m.conversation_id)?.has(m.id);
      await this.upsertMessage(m);
      if (!known) this.bumpConversation(m, m.sender_id !== this.userId);
      this.typing.get(m.conversation_id)?.delete(m.sender_id);
      this.changed();
      if (m.sender_id === this.userId) return;
      // A delivery receipt for every message that reaches this device; a read receipt when it is on screen.
      void this.socket.markDelivered(m.conversation_id, m.seq).catch(() => undefined);
      if (this.openId === m.conversation_id) await this.markRead(m.conversation_id);
    });
    s.on('message:updated', async (m) => {
      await this.upsertMessage(m);
      this.changed();
    });
    s.on('message:deleted', async (d) => {
      const ui = this.messages.get(d.conversation_id)?.get(d.message_id);
      if (ui) ui.view = { ...ui.view, content: null, deleted_at: d.deleted_at };
      if (ui) Object.assign(ui, { text: undefined, file: undefined, reactions: [] });
      this.changed();
    });
    const reacted = async (d: { conversation_id: string; message_id: string }) => {
      const m = await this.client.getMessage(d.conversation_id, d.message_id).catch(() => null);
      if (m) await this.upsertMessage(m);
      this.changed();
    };
    s.on('reaction:added', (d) => void reacted(d));
    s.on('reaction:removed', (d) => void reacted(d));
    s.on('typing', (t) => {
      if (t.user_id === this.userId) return;
      const m = this.typing.get(t.conversation_id) ?? new Map<string, number>();
      if (t.typing) m.set(t.user_id, Date.now() + TYPING_SHOWN_MS);
      else m.delete(t.user_id);
      this.typing.set(t.conversation_id, m);
      this.changed();
      setTimeout(() => this.changed(), TYPING_SHOWN_MS + 50);
    });
    s.on('presence', (p) => {
      this.presence.set(p.user_id, p.status);
      this.changed();
    });
    const position = (field: 'last_read_seq' | 'last_delivered_seq') => (r: { conversation_id: string; user_id: string; seq: number }) => {
      const p = this.conversations.get(r.conversation_id)?.participants.find((x) => x.user_id === r.user_id);
      if (p) p[field] = Math.max(p[field], r.seq);
      if (p && field === 'last_read_seq') p.last_delivered_seq = Math.max(p.last_delivered_seq, r.seq);
      this.changed();
    };
    s.on('conversation:read', position('last_read_seq'));
    s.on('message:delivered', position('last_delivered_seq'));
    s.on('conversation:new', () => void this.refreshConversations());
    s.on('conversation:updated', (c) => void this.refreshOne(c.id));
    s.on('member:added', (e) => void this.refreshOne(e.conversation_id));
    s.on('member:removed', (e) => void this.refreshOne(e.conversation_id));
    document.addEventListener('visibilitychange', () => {
      if (this.openId) void this.markRead(this.openId);
    });
    const notices = { 'session:expired': 'Your session has expired: open a new sign-in link.', 'session:revoked': 'This account was deactivated.', 'tenant:suspended': 'This service is suspended.' } as const;
    for (const [event, text] of Object.entries(notices)) s.on(event as keyof typeof notices, () => ((this.notice = text), this.changed()));
  }
}
