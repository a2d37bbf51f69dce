import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ChatApiError, isServerErrorBody } from './errors';
import { Credential, resolveCredential } from './http';
import type * as Wire from '@chat/contracts';
import type { EncryptedMessageContent } from './crypto/envelope';
import type { MessageView, ReceiptView, SendMessageInput, EditMessageInput } from './types';

/**
 * A hole in live delivery is asked for again until the server answers it: it always does once the
 * seq's write lands or the seq is older than its grace period (then it holds a gap tombstone), and
 * says when to ask again (retry_after_ms). The bound is a last resort against a misbehaving server.
 */
const HOLE_RETRIES = 40;
const HOLE_RETRY_MS = 250;
/** Sync refusals that mean "later", not "never" (a busy node, the user's work budget): retried after retry_after_seconds. */
const SYNC_RETRYABLE = new Set(['service_unavailable', 'rate_limited']);
const SYNC_RETRY_MAX_SECONDS = 60;
const HOLE_RETRY_MAX_MS = 5_000;

/** Events the server pushes (docs/realtime.md): the wire contract's map, with this SDK's envelope type. */
export type ServerEvents = Wire.ServerToClientEventMap<EncryptedMessageContent>;

/** Client events with their payloads and acks (the wire contract's map). */
export type ClientToServerEventMap = Wire.ClientToServerEventMap<EncryptedMessageContent>;

/** Events of the wrapper itself. */
export interface ClientEvents {
  connected: { recovered: boolean };
  disconnected: { reason: string };
  reconnecting: { attempt: number };
  /**
   * A catch-up after (re)connecting finished; `messages` were delivered as message:new, `changes` (edits,
   * deletes, reactions made meanwhile) as message:updated / message:deleted.
   */
  synced: { conversations: number; messages: number; changes: number };
  error: ChatApiError;
}

export type ChatSocketEvents = ServerEvents & ClientEvents;
type Listener<K extends keyof ChatSocketEvents> = (payload: ChatSocketEvents[K]) => void;

export type SendAck = Wire.SendAck;
export type SyncCursor = Wire.SyncCursor;
export type SyncConversationResult = Wire.SyncConversationResult<EncryptedMessageContent>;

export interface ChatSocketOptions {
  /** Server URL (the gateway, or the all-in-one server). */
  url: string;
  /** End-user JWT, or a function returning a fresh one: it is read again on every reconnection. */
  token: Credential;
  /** socket.io path (default /socket.io). */
  path?: string;
  /** Default ['websocket'] (no long-polling; set ['polling', 'websocket'] behind proxies that need it). */
  transports?: Array<'websocket' | 'polling'>;
  /** Ack wait per event (default 10 s). */
  ackTimeoutMs?: number;
  /** Reconnect automatically (default true), with socket.io's exponential backoff up to this delay. */
  reconnection?: boolean;
  reconnectionDelayMaxMs?: number;
  /** Last seq seen per conversation (e.g. restored from storage): the catch-up starts after them. */
  positions?: Record<string, number>;
  /** Change position per conversation (allChangePositions, restored from storage); absent: 0, every change is replayed once. */
  changePositions?: Record<string, number>;
  /** Messages per conversation per sync request (server caps at 100). */
  syncLimit?: number;
  /** Extra socket.io options. */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/**
 * socket.io client wrapper: typed events, acks as promises (ChatApiError on the error shape),
 * automatic reconnect with a fresh token, and `seq` sync. It remembers the last seq it delivered per
 * conversation; after a reconnect, or when a message:new skips a seq, it asks `sync` for what came
 * after and delivers it as message:new in order, so the app sees every message once, in seq order.
 */
export class ChatSocket {
  readonly socket: Socket;
  private readonly listeners = new Map<keyof ChatSocketEvents, Set<(p: unknown) => void>>();
  private readonly positions = new Map<string, number>();
  private readonly changePositions = new Map<string, number>();
  /** Per conversation: the catch-up in progress (live messages wait behind it). */
  private readonly catchingUp = new Map<string, Promise<void>>();
  /** Live messages that arrived after a hole, waiting for the hole to be filled. */
  private readonly held = new Map<string, MessageView[]>();
  /** When the server said a pending hole can be answered (retry_after_ms of the last sync). */
  private readonly retryAfter = new Map<string, number>();
  /** Conversations with a catch-up scheduled because the server answered a pending hole. */
  private readonly pendingRetry = new Set<string>();
  private connectedOnce = false;
  private closed = false;
  private expired = false;
  private suspended = false;

  constructor(private readonly opts: ChatSocketOptions) {
    for (const [c, seq] of Object.entries(opts.positions ?? {})) this.positions.set(c, seq);
    for (const [c, n] of Object.entries(opts.changePositions ?? {})) this.changePositions.set(c, n);
    this.socket = io(opts.url, {
      path: opts.path,
      transports: opts.transports ?? ['websocket'],
      reconnection: opts.reconnection ?? true,
      reconnectionDelayMax: opts.reconnectionDelayMaxMs ?? 10_000,
      autoConnect: false,
      // Read on every (re)connection attempt, so an expired token is replaced.
      auth: (cb: (data: object) => void) => {
        void resolveCredential(opts.token).then(
          (token) => cb({ token }),
          () => cb({}),
        );
      },
      ...opts.socketOptions,
    });
    this.socket.on('connect', () => {
      const recovered = this.connectedOnce;
      this.connectedOnce = true;
      this.fire('connected', { recovered });
      // The server queues events until the rooms are joined, so this sync sees all it must.
      if (this.positions.size) void this.catchUpAll();
    });
    this.socket.on('session:expired', () => {
      this.expired = true;
    });
    this.socket.on('tenant:suspended', () => {
      this.suspended = true;
    });
    this.socket.on('disconnect', (reason) => {
      this.fire('disconnected', { reason });
      // socket.io does not reconnect after a server-side disconnect; an expired token is worth a new try.
      if (reason === 'io server disconnect' && this.expired && !this.suspended && !this.closed && (this.opts.reconnection ?? true)) {
        this.expired = false;
        setTimeout(() => {
          if (!this.closed) this.socket.connect();
        }, 100);
      }
    });
    this.socket.io.on('reconnect_attempt', (attempt) => this.fire('reconnecting', { attempt }));
    this.socket.on('message:new', (m: MessageView) => void this.onLiveMessage(m));
    const passThrough: Array<keyof ServerEvents> = [
      'session:ready',
      'session:expired',
      'session:revoked',
      'message:updated',
      'message:deleted',
      'reaction:added',
      'reaction:removed',
      'typing',
      'presence',
      'conversation:read',
      'message:delivered',
      'conversation:new',
      'conversation:updated',
      'member:added',
      'member:removed',
      'tenant:suspended',
      'connection:error',
    ];
    for (const name of passThrough) this.socket.on(name as string, (payload: unknown) => this.fire(name, payload as never));
  }

  /** Connects; rejects with the server's refusal (ChatApiError, e.g. unauthorized) on the first attempt. */
  connect(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ok = () => {
        this.socket.off('connect_error', fail);
        resolve();
      };
      const fail = (err: Error & { data?: unknown }) => {
        this.socket.off('connect', ok);
        // A refusal by the server does not heal by retrying: stop.
        if (isServerErrorBody(err.data)) this.socket.disconnect();
        reject(isServerErrorBody(err.data) ? ChatApiError.fromBody(0, err.data) : new ChatApiError(0, 'network_error', err.message));
      };
      this.socket.once('connect', ok);
      this.socket.once('connect_error', fail);
      this.socket.connect();
    });
  }

  close(): void {
    this.closed = true;
    this.socket.disconnect();
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  on<K extends keyof ChatSocketEvents>(event: K, listener: Listener<K>): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (p: unknown) => void);
    this.listeners.set(event, set);
    return () => set.delete(listener as (p: unknown) => void);
  }

  /** Resolves with the next event of that kind that matches (rejects after timeoutMs). */
  waitFor<K extends keyof ChatSocketEvents>(event: K, match: (p: ChatSocketEvents[K]) => boolean = () => true, timeoutMs = 10_000): Promise<ChatSocketEvents[K]> {
    return new Promise((resolve, reject) => {
      const off = this.on(event, (p) => {
        if (!match(p)) return;
        clearTimeout(timer);
        off();
        resolve(p);
      });
      const timer = setTimeout(() => {
        off();
        reject(new ChatApiError(0, 'timeout', `no ${String(event)} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  private fire<K extends keyof ChatSocketEvents>(event: K, payload: ChatSocketEvents[K]): void {
    for (const l of this.listeners.get(event) ?? []) {
      try {
        l(payload);
      } catch {
        // A failing listener must not break delivery to the others.
      }
    }
  }

  /** Emits a client event and resolves with the ack's data; rejects with ChatApiError. */
  /** A contract event: payload and ack data typed by the wire contract. */
  request<E extends keyof ClientToServerEventMap>(event: E, payload: ClientToServerEventMap[E]['payload']): Promise<ClientToServerEventMap[E]['ack']>;
  request<T>(event: string, payload: unknown): Promise<T>;
  request<T>(event: string, payload: unknown): Promise<T> {
    if (this.closed) return Promise.reject(new ChatApiError(0, 'socket_disconnected', 'The socket was closed'));
    return new Promise((resolve, reject) => {
      this.socket.timeout(this.opts.ackTimeoutMs ?? 10_000).emit(event, payload, (err: Error | null, ack: unknown) => {
        if (err) return reject(new ChatApiError(0, 'timeout', `${event}: no ack within ${this.opts.ackTimeoutMs ?? 10_000} ms`));
        if (isServerErrorBody(ack)) return reject(ChatApiError.fromBody(0, ack));
        const a = ack as { ok?: boolean; data?: T };
        if (a && a.ok === true) return resolve(a.data as T);
        reject(new ChatApiError(0, 'invalid_response', `${event}: unexpected ack`, ack));
      });
    });
  }

  // ---------------------------------------------------------------- client events
  send(conversationId: string, input: SendMessageInput): Promise<SendAck> {
    return this.request('message:send', { conversation_id: conversationId, ...input });
  }
  edit(conversationId: string, messageId: string, input: EditMessageInput) {
    return this.request('message:edit', {
      conversation_id: conversationId,
      message_id: messageId,
      ...input,
    });
  }
  delete(conversationId: string, messageId: string) {
    return this.request('message:delete', { conversation_id: conversationId, message_id: messageId });
  }
  /** `emoji` is stored as given: pass an encrypted reaction token (see encryptReaction). */
  addReaction(conversationId: string, messageId: string, emoji: string) {
    return this.request('reaction:add', { conversation_id: conversationId, message_id: messageId, emoji });
  }
  removeReaction(conversationId: string, messageId: string, emoji: string) {
    return this.request('reaction:remove', { conversation_id: conversationId, message_id: messageId, emoji });
  }
  typing(conversationId: string, typing: boolean): Promise<{ relayed: boolean }> {
    return this.request(typing ? 'typing:start' : 'typing:stop', { conversation_id: conversationId });
  }
  markRead(conversationId: string, seq: number): Promise<ReceiptView> {
    return this.request('conversation:read', { conversation_id: conversationId, seq });
  }
  markDelivered(conversationId: string, seq: number): Promise<ReceiptView> {
    return this.request('conversation:delivered', { conversation_id: conversationId, seq });
  }
  presence(userIds: string[]): Promise<{ users: Wire.PresenceStatusView[] }> {
    return this.request('presence:query', { user_ids: userIds });
  }
  /** Raw sync: messages after each cursor (the wrapper does this by itself on reconnect and gaps). */
  sync(cursors: SyncCursor[], limit?: number): Promise<{ conversations: SyncConversationResult[] }> {
    return this.request('sync', { conversations: cursors, ...(limit ? { limit } : {}) });
  }

  // ---------------------------------------------------------------- seq tracking
  /** Follow a conversation from `afterSeq` (0: from the start); sync fills in anything after it. */
  track(conversationId: string, afterSeq: number): void {
    const current = this.positions.get(conversationId);
    if (current === undefined || afterSeq > current) this.positions.set(conversationId, afterSeq);
  }

  /** Last seq delivered for a conversation (persist these to resume after a restart). */
  position(conversationId: string): number | undefined {
    return this.positions.get(conversationId);
  }

  get allPositions(): Record<string, number> {
    return Object.fromEntries(this.positions);
  }

  /** Change position per conversation (persist these with the positions). */
  get allChangePositions(): Record<string, number> {
    return Object.fromEntries(this.changePositions);
  }

  /** A change made while away: its current state, as the live event would have told it. */
  private applyChange(m: MessageView): void {
    if (m.gap || m.seq > (this.positions.get(m.conversation_id) ?? 0)) return;
    if (m.deleted_at) this.fire('message:deleted', { conversation_id: m.conversation_id, message_id: m.id, seq: m.seq, deleted_at: m.deleted_at });
    else this.fire('message:updated', m);
  }

  private deliver(m: MessageView): void {
    const last = this.positions.get(m.conversation_id) ?? 0;
    if (m.seq <= last) return;
    this.positions.set(m.conversation_id, m.seq);
    if (!m.gap) this.fire('message:new', m);
  }

  private async onLiveMessage(m: MessageView): Promise<void> {
    const pending = this.catchingUp.get(m.conversation_id);
    if (pending) await pending;
    const last = this.positions.get(m.conversation_id);
    if (last === undefined || m.seq <= last + 1) {
      this.deliver(m);
      this.flushHeld(m.conversation_id, false);
      return;
    }
    // A hole before this message: hold it, fetch what is missing, then deliver in order.
    const held = this.held.get(m.conversation_id) ?? [];
    held.push(m);
    this.held.set(m.conversation_id, held);
    if (held.length === 1) void this.fillHole(m.conversation_id, 0);
  }

  /**
   * Sync until the held messages connect to the position. The server answers a seq whose write is
   * still in flight as a pending hole with retry_after_ms, so a few retries a moment apart are normal;
   * it answers every seq (message, gap tombstone or hidden) once the grace period is over.
   */
  private async fillHole(conversationId: string, attempt: number): Promise<void> {
    await this.catchUp([conversationId]);
    const done = this.flushHeld(conversationId, attempt >= HOLE_RETRIES);
    if (done || this.closed) return;
    const wait = Math.min(HOLE_RETRY_MAX_MS, this.retryAfter.get(conversationId) ?? HOLE_RETRY_MS * (attempt + 1));
    setTimeout(() => void this.fillHole(conversationId, attempt + 1), wait);
  }

  /** A catch-up again once a pending hole can be answered (bounded like hole fills). */
  private retryPending(conversationId: string, attempt: number): void {
    if (this.closed || attempt > HOLE_RETRIES || this.pendingRetry.has(conversationId)) return;
    this.pendingRetry.add(conversationId);
    const wait = Math.min(HOLE_RETRY_MAX_MS, this.retryAfter.get(conversationId) ?? HOLE_RETRY_MS);
    setTimeout(() => {
      this.pendingRetry.delete(conversationId);
      if (this.closed) return;
      void this.catchUp([conversationId]).then(() => {
        if (this.retryAfter.has(conversationId)) this.retryPending(conversationId, attempt + 1);
      });
    }, wait);
  }

  /** Delivers held messages that are next in line (all of them when `force`); true when none is left. */
  private flushHeld(conversationId: string, force: boolean): boolean {
    const held = this.held.get(conversationId);
    if (!held?.length) return true;
    held.sort((a, b) => a.seq - b.seq);
    while (held.length && (force || held[0]!.seq <= (this.positions.get(conversationId) ?? 0) + 1)) this.deliver(held.shift()!);
    if (!held.length) this.held.delete(conversationId);
    return held.length === 0;
  }

  /** Waits as the server asked (bounded), before syncing what it could not serve yet. */
  private retryPause(seconds: number | undefined): Promise<void> {
    const ms = Math.min(SYNC_RETRY_MAX_SECONDS, Math.max(1, seconds ?? 1)) * 1000;
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private catchUpAll(): Promise<void> {
    return this.catchUp([...this.positions.keys()]);
  }

  /** Sync the conversations after their positions, page by page, delivering in seq order. */
  private async catchUp(conversationIds: string[]): Promise<void> {
    const ids = conversationIds.filter((id) => !this.catchingUp.has(id));
    if (!ids.length) {
      await Promise.all(conversationIds.map((id) => this.catchingUp.get(id)));
      return;
    }
    const run = (async () => {
      let delivered = 0;
      let changed = 0;
      let todo = ids;
      // Bounded: every round either advances a position or drops the conversation.
      for (let round = 0; todo.length && round < 1000; round++) {
        const batch = todo.slice(0, 100);
        let res: { conversations: SyncConversationResult[] };
        try {
          res = await this.sync(
            batch.map((id) => ({ conversation_id: id, after_seq: this.positions.get(id) ?? 0, after_change: this.changePositions.get(id) ?? 0 })),
            this.opts.syncLimit,
          );
        } catch (err) {
          // The whole request refused for now (the user's work budget): the same batch, later.
          if (!(err instanceof ChatApiError) || !SYNC_RETRYABLE.has(err.code) || this.closed) throw err;
          await this.retryPause(err.retryAfterSeconds);
          continue;
        }
        const again: string[] = [];
        const later: string[] = [];
        let pause = 0;
        for (const r of res.conversations) {
          if (r.error) {
            const err = ChatApiError.fromBody(0, { error: r.error });
            if (SYNC_RETRYABLE.has(err.code)) {
              later.push(r.conversation_id);
              pause = Math.max(pause, err.retryAfterSeconds ?? 1);
            } else {
              this.fire('error', err);
            }
            continue;
          }
          const before = this.positions.get(r.conversation_id) ?? 0;
          const changesBefore = this.changePositions.get(r.conversation_id) ?? 0;
          // Changes first: they are about messages up to the position this request was made from.
          for (const m of r.changes ?? []) {
            this.applyChange(m);
            changed++;
          }
          if (r.next_after_change !== undefined && r.next_after_change > changesBefore) this.changePositions.set(r.conversation_id, r.next_after_change);
          for (const m of r.messages ?? []) {
            if (m.seq > (this.positions.get(m.conversation_id) ?? 0) && !m.gap) delivered++;
            this.deliver(m);
          }
          // Hidden seqs (sent while this user was not a member) are answered too: the position moves past them.
          if (r.next_after_seq !== undefined && r.next_after_seq > (this.positions.get(r.conversation_id) ?? 0)) this.positions.set(r.conversation_id, r.next_after_seq);
          if (r.retry_after_ms !== undefined) {
            this.retryAfter.set(r.conversation_id, r.retry_after_ms);
            // Messages after the pending seq wait behind it: ask again when the server said it can answer.
            this.retryPending(r.conversation_id, 0);
          } else this.retryAfter.delete(r.conversation_id);
          const moved = (this.positions.get(r.conversation_id) ?? 0) > before || (this.changePositions.get(r.conversation_id) ?? 0) > changesBefore;
          if ((r.has_more || r.changes_has_more) && moved) again.push(r.conversation_id);
        }
        if (later.length) {
          if (this.closed) break;
          await this.retryPause(pause);
        }
        todo = [...again, ...later, ...todo.slice(100)];
      }
      this.fire('synced', { conversations: ids.length, messages: delivered, changes: changed });
    })();
    for (const id of ids) this.catchingUp.set(id, run);
    try {
      await run;
    } catch (err) {
      this.fire('error', err instanceof ChatApiError ? err : new ChatApiError(0, 'network_error', (err as Error).message));
    } finally {
      for (const id of ids) if (this.catchingUp.get(id) === run) this.catchingUp.delete(id);
    }
  }
}
