import { io, type Socket } from 'socket.io-client';
import { ChatApiError, isServerErrorBody } from './errors';
import { resolveCredential } from './http';
import { SeqSync } from './seq-sync';
import type { PresenceStatusView } from '@chat/contracts';
import type { ChatSocketEvents, ChatSocketOptions, ClientToServerEventMap, SendAck, ServerEvents, SyncConversationResult, SyncCursor } from './socket-events';
import type { EditMessageInput, MessageView, ReceiptView, SendMessageInput } from './types';

export * from './socket-events';

type Listener<K extends keyof ChatSocketEvents> = (payload: ChatSocketEvents[K]) => void;

/**
 * socket.io client wrapper: typed events, acks as promises (ChatApiError on the error shape),
 * automatic reconnect with a fresh token, and `seq` sync. It remembers the last seq it delivered per
 * conversation; after a reconnect, or when a message:new skips a seq, it asks `sync` for what came
 * after and delivers it as message:new in order, so the app sees every message once, in seq order.
 */
export class ChatSocket {
  readonly socket: Socket;
  private readonly listeners = new Map<keyof ChatSocketEvents, Set<(p: unknown) => void>>();
  private readonly seqs: SeqSync;
  private connectedOnce = false;
  private closed = false;
  private expired = false;
  private suspended = false;

  constructor(private readonly opts: ChatSocketOptions) {
    this.seqs = new SeqSync(
      {
        sync: (cursors, limit) => this.sync(cursors, limit),
        fire: (event, payload) => this.fire(event, payload),
        isClosed: () => this.closed,
        syncLimit: opts.syncLimit,
      },
      opts.positions,
      opts.changePositions,
    );
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
      if (this.seqs.positions.size) void this.seqs.catchUpAll();
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
    this.socket.on('message:new', (m: MessageView) => void this.seqs.onLiveMessage(m));
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
      'conversation:device_joined',
      'conversation:moderation',
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
  presence(userIds: string[]): Promise<{ users: PresenceStatusView[] }> {
    return this.request('presence:query', { user_ids: userIds });
  }
  /** Raw sync: messages after each cursor (the wrapper does this by itself on reconnect and gaps). */
  sync(cursors: SyncCursor[], limit?: number): Promise<{ conversations: SyncConversationResult[] }> {
    return this.request('sync', { conversations: cursors, ...(limit ? { limit } : {}) });
  }

  // ---------------------------------------------------------------- seq tracking (SeqSync)
  /** Follow a conversation from `afterSeq` (0: from the start); sync fills in anything after it. */
  track(conversationId: string, afterSeq: number): void {
    const current = this.seqs.positions.get(conversationId);
    if (current === undefined || afterSeq > current) this.seqs.positions.set(conversationId, afterSeq);
  }

  /** Last seq delivered for a conversation (persist these to resume after a restart). */
  position(conversationId: string): number | undefined {
    return this.seqs.positions.get(conversationId);
  }

  get allPositions(): Record<string, number> {
    return Object.fromEntries(this.seqs.positions);
  }

  /** Change position per conversation (persist these with the positions). */
  get allChangePositions(): Record<string, number> {
    return Object.fromEntries(this.seqs.changePositions);
  }
}
