import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Server } from 'socket.io';
import { UserTokenService } from '@chat/auth';
import { UsersService } from '@chat/chat';
import { Clock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode, validateDto } from '@chat/errors';
import { counter, gauge, histogram } from '@chat/metrics';
import { PlatformEvents } from '@chat/platform';
import { QuotaService, RateLimiter } from '@chat/quotas';
import {
  connectError,
  errorAck,
  payloadBytes,
  PresenceChange,
  PresenceTracker,
  RealtimeMembership,
  Rooms,
  safeAck,
  splitEventArgs,
  TenantEventLimiter,
  TokenBucket,
  TypingThrottle,
  unknownEventError,
  UserWorkBudget,
} from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { UsageSignals } from '@chat/usage';
import { TenantContext, TenantId } from '@chat/tenancy';
import { ChatFanout, FanoutScope } from './chat-fanout';
import { ClientEvents, EventSpec } from './events/client-events';
import type { GatewaySocket, SocketSession } from './socket-session';

const connections = gauge('chat_socket_connections', 'Open socket.io connections on this node');
const handshakes = counter('chat_socket_handshakes_total', 'socket.io handshakes by result', ['result']);
const events = counter('chat_socket_events_total', 'Client socket events by event and result code', ['event', 'result']);
const eventSeconds = histogram('chat_socket_event_seconds', 'Time from a client event to its ack', ['event']);

const MAX_TIMER_MS = 2_147_483_647;

/** `exp` of an already verified JWT, in ms (null if absent). */
function tokenExpiry(token: string): number | null {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** Internal server-to-server message (Redis adapter): a membership removal every node must know about. */
const MEMBER_REMOVED_SIGNAL = 'rt:member-removed';

/**
 * The socket.io gateway. Handshake: the end-user JWT (`auth.token`) verified by the same service as
 * HTTP, then the tenant's connection quota; a refusal is a `connect_error` whose `data` is the error
 * shape. Each socket joins its tenant, user and conversation rooms (tenant-scoped names). Every client
 * event is rate limited (per socket, per tenant, and by work per user), size-checked, validated and run inside
 * TenantContext, and always answered through its ack as `{ ok: true, data }` or `{ error }`. Nothing a
 * client sends can throw out of a handler: errors are logged and affect that socket only.
 */
@WebSocketGateway()
export class RealtimeGateway implements OnGatewayInit<Server>, OnGatewayConnection<GatewaySocket>, OnGatewayDisconnect<GatewaySocket>, OnModuleInit, OnModuleDestroy {
  @WebSocketServer() server!: Server;
  private readonly logger = new Logger('RealtimeGateway');
  private readonly tenantLimiter: TenantEventLimiter;
  private readonly userWork: UserWorkBudget;
  private readonly maxPayloadBytes: number;
  private draining = false;
  private drainPromise?: Promise<void>;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** Disconnect clean-ups and presence fan-outs still running (awaited by the drain). */
  private readonly pending = new Set<Promise<void>>();
  /** Sockets still joining their rooms, by `${tenant}:${user}` (see member removal races). */
  private readonly joining = new Map<string, Set<SocketSession>>();
  /** Conversation rooms of a user's last socket on this node, kept briefly for the offline presence event. */
  private readonly departedRooms = new Map<string, { rooms: string[]; at: number }>();
  private refreshTimer?: NodeJS.Timeout;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly tokens: UserTokenService,
    private readonly quotas: QuotaService,
    private readonly users: UsersService,
    private readonly membership: RealtimeMembership,
    private readonly presence: PresenceTracker,
    private readonly platformEvents: PlatformEvents,
    private readonly clientEvents: ClientEvents,
    private readonly fanout: ChatFanout,
    private readonly clock: Clock,
    limiter: RateLimiter,
  ) {
    this.tenantLimiter = new TenantEventLimiter(redis, config.SOCKET_TENANT_EVENTS_PER_SECOND, () => this.clock.now());
    this.userWork = new UserWorkBudget(limiter, redis, config.SOCKET_USER_WORK_BUDGET, config.SOCKET_USER_WORK_WINDOW_MS);
    this.maxPayloadBytes = config.SOCKET_MAX_PAYLOAD_BYTES ?? config.MESSAGE_MAX_BYTES * 2;
  }

  async onModuleInit(): Promise<void> {
    await this.presence.start();
    this.unsubscribers.push(
      this.presence.onChange((c) => this.track(this.onPresenceChange(c))),
      this.platformEvents.on('tenant.suspended', ({ tenantId }) => this.cutOffTenant(tenantId, 'This tenant is suspended')),
      this.platformEvents.on('tenant.deleted', ({ tenantId }) => this.cutOffTenant(tenantId, 'This tenant was deleted')),
    );
    // Live sockets keep their place in the connection quota; a dead node's entries go stale.
    const every = Math.max(1000, Math.floor((this.config.QUOTA_CONNECTION_STALE_SECONDS * 1000) / 3));
    this.refreshTimer = setInterval(() => void this.refreshConnectionQuota(), every);
    this.refreshTimer.unref();
  }

  afterInit(server: Server): void {
    this.server = server;
    this.fanout
      .attach(server, (tenantId, conversationId, userIds, scope) => this.onMembersRemoved(tenantId, userIds, scope))
      .catch((err: Error) => this.logger.error(`chat event relay subscription failed: ${err.message}`));
    server.use((socket, next) => {
      this.authenticate(socket as GatewaySocket).then(
        () => next(),
        (err: unknown) => next(connectError(err)),
      );
    });
    if (this.redis.mode === 'redis') {
      server.of('/').on(MEMBER_REMOVED_SIGNAL, (p: { tenantId: TenantId; userIds: string[] }) => this.markJoiningForRecheck(p.tenantId, p.userIds));
    }
  }

  // ------------------------------------------------------------------ handshake and connection

  private async authenticate(socket: GatewaySocket): Promise<void> {
    try {
      if (this.draining) throw new AppError(ErrorCode.ServiceUnavailable, 'This node is shutting down: connect to another one');
      const auth = socket.handshake.auth as Record<string, unknown> | undefined;
      const header = socket.handshake.headers?.authorization;
      const token = typeof auth?.token === 'string' ? auth.token : typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
      const principal = await this.tokens.authenticateUserToken(token);
      const expiresAt = tokenExpiry(token as string);
      const { tenantId, userId, applicationId } = principal;
      await this.quotas.acquireConnection(tenantId, socket.id);
      UsageSignals.connectionOpened(tenantId, userId); // usage metering: MAU and peak connections
      let released = false;
      const releaseConnection = () => {
        if (released) return;
        released = true;
        this.quotas.releaseConnection(tenantId, socket.id).catch((err: Error) => this.logger.warn(`releasing a connection slot failed: ${err.message}`));
      };
      // The engine connection closes whether or not the socket ever reached 'connection'.
      socket.conn.once('close', releaseConnection);
      socket.data.session = {
        tenantId,
        userId,
        applicationId,
        ready: Promise.resolve(),
        bucket: new TokenBucket(this.config.SOCKET_EVENTS_PER_SECOND, this.config.SOCKET_EVENTS_BURST, () => this.clock.now()),
        typing: new TypingThrottle(this.config.TYPING_THROTTLE_MS),
        presenceCounted: false,
        recheckRooms: false,
        releaseConnection,
        expiresAt,
      };
      handshakes.inc({ result: 'ok' });
    } catch (err) {
      const { body, unexpected } = errorAck(err);
      handshakes.inc({ result: body.error.code });
      if (unexpected) this.logger.error(`handshake failed: ${(err as Error)?.stack ?? String(err)}`);
      throw err;
    }
  }

  handleConnection(socket: GatewaySocket): void {
    try {
      const session = socket.data.session;
      if (!session) {
        socket.disconnect(true);
        return;
      }
      connections.inc();
      // The token was checked at the handshake; the connection ends when the token does.
      if (session.expiresAt !== null) {
        const expiry = setTimeout(() => {
          socket.emit('session:expired', { error: { code: ErrorCode.Unauthorized, message: 'Token has expired: reconnect with a new one' } });
          socket.disconnect(true);
        }, Math.min(MAX_TIMER_MS, Math.max(0, session.expiresAt - Date.now())));
        expiry.unref();
        socket.once('disconnect', () => clearTimeout(expiry));
      }
      // A client event named "error" is dispatched like any other (and answered below as unknown); an
      // EventEmitter with no 'error' listener would throw, so one is always here (debug level: clients
      // can send it at will).
      socket.on('error', (err: unknown) => this.logger.debug(`socket error: ${err instanceof Error ? err.message : 'client sent an "error" event'}`));
      for (const [name, spec] of this.clientEvents.specs) {
        socket.on(name, (...args: unknown[]) => void this.onEvent(socket, session, name, spec, args));
      }
      socket.onAny((event: unknown, ...args: unknown[]) => {
        if (typeof event === 'string' && this.clientEvents.specs.has(event)) return;
        const { ack } = splitEventArgs(args);
        events.inc({ event: 'unknown', result: 'bad_request' });
        safeAck(ack, errorAck(unknownEventError(String(event))).body);
      });
      socket.on('disconnecting', () => {
        const rooms = [...socket.rooms].filter((r) => Rooms.parse(r)?.kind === 'conversation');
        this.rememberDeparted(`${session.tenantId}:${session.userId}`, rooms);
      });
      // Handlers are registered synchronously above; they wait for this before running.
      session.ready = this.joinRooms(socket, session);
      session.ready.catch((err: unknown) => {
        const { body, unexpected } = errorAck(err);
        if (unexpected) this.logger.error(`socket setup failed: ${(err as Error)?.stack ?? String(err)}`);
        socket.emit('connection:error', body);
        socket.disconnect(true);
      });
    } catch (err) {
      this.logger.error(`connection handling failed: ${(err as Error)?.stack ?? String(err)}`);
      socket.disconnect(true);
    }
  }

  /** Joins the tenant, user and conversation rooms, then counts the user online. */
  private async joinRooms(socket: GatewaySocket, session: SocketSession): Promise<void> {
    const { tenantId, userId } = session;
    const key = `${tenantId}:${userId}`;
    socket.join([Rooms.tenant(tenantId), Rooms.user(tenantId, userId)]);
    const set = this.joining.get(key) ?? new Set();
    set.add(session);
    this.joining.set(key, set);
    try {
      // The user is checked again now that the socket is in its user room: a deactivation whose cut
      // (user.access_revoked) went to that room before this socket joined it is seen here instead.
      const [ids] = await Promise.all([
        TenantContext.run({ tenantId, actor: { type: 'user', id: userId } }, () => this.membership.conversationIdsOf(userId)),
        this.tokens.requireAccess(tenantId, userId),
      ]);
      socket.join(Rooms.conversations(tenantId, ids));
      // A removal that happened while we were reading may have been read before it was written: re-read
      // from the database (not the cache, which may still hold what we just read).
      if (session.recheckRooms) {
        const now = new Set(await TenantContext.run({ tenantId }, () => this.membership.conversationIdsOf(userId, { fresh: true })));
        for (const id of ids) if (!now.has(id)) socket.leave(Rooms.conversation(tenantId, id));
      }
    } finally {
      set.delete(session);
      if (!set.size) this.joining.delete(key);
    }
    if (!socket.connected) return;
    session.presenceCounted = true;
    await this.presence.connect(tenantId, userId);
    // From here on live events reach this socket: a client syncs after this (or any acked event).
    const conversations = [...socket.rooms].filter((r) => Rooms.parse(r)?.kind === 'conversation').length;
    socket.emit('session:ready', { user_id: userId, conversations });
  }

  handleDisconnect(socket: GatewaySocket): void {
    const session = socket.data.session;
    if (!session) return;
    connections.dec();
    session.releaseConnection();
    for (const conversationId of session.typing.drain()) {
      this.server
        .to(Rooms.conversation(session.tenantId, conversationId))
        .except(Rooms.user(session.tenantId, session.userId))
        .emit('typing', { conversation_id: conversationId, user_id: session.userId, typing: false });
    }
    this.track(
      session.ready
        .catch(() => undefined)
        .then(async () => {
          if (!session.presenceCounted) return;
          session.presenceCounted = false;
          await this.presence.disconnect(session.tenantId, session.userId);
        })
        .catch((err: Error) => this.logger.warn(`disconnect cleanup failed: ${err.message}`)),
    );
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async settlePending(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    // Settling one may start another (a disconnect starts a presence fan-out): loop until quiet.
    while (this.pending.size && Date.now() < end) {
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => setTimeout(r, Math.max(1, end - Date.now())).unref())]);
    }
  }

  // ------------------------------------------------------------------ client events

  private async onEvent(socket: GatewaySocket, session: SocketSession, name: string, spec: EventSpec, args: unknown[]): Promise<void> {
    const { payload, ack } = splitEventArgs(args);
    const t0 = performance.now();
    this.inFlight++;
    try {
      const data = await this.runEvent(socket, session, name, spec, payload);
      events.inc({ event: name, result: 'ok' });
      safeAck(ack, { ok: true, data: data ?? null });
    } catch (err) {
      const { body, unexpected } = errorAck(err);
      events.inc({ event: name, result: body.error.code });
      if (unexpected) this.logger.error(`${name} failed (tenant ${session.tenantId}): ${(err as Error)?.stack ?? String(err)}`);
      safeAck(ack, body);
    } finally {
      eventSeconds.observe({ event: name }, (performance.now() - t0) / 1000);
      if (--this.inFlight === 0) this.idleWaiters.splice(0).forEach((r) => r());
    }
  }

  private async runEvent(socket: GatewaySocket, session: SocketSession, name: string, spec: EventSpec, payload: unknown): Promise<unknown> {
    await session.ready.catch(() => {
      throw new AppError(ErrorCode.ServiceUnavailable, 'The connection could not be set up: reconnect');
    });
    if (this.draining && spec.write) throw new AppError(ErrorCode.ServiceUnavailable, 'This node is shutting down: retry on another one');
    const wait = session.bucket.take();
    if (wait) throw AppError.rateLimited(wait / 1000, 'Too many events on this connection');
    if (payloadBytes(payload) > this.maxPayloadBytes) {
      throw new AppError(ErrorCode.PayloadTooLarge, `Event payload is larger than ${this.maxPayloadBytes} bytes`);
    }
    // The user check of every HTTP request (a cached read), side by side with the tenant limit's round
    // trip: a user deactivated or deleted since the handshake is refused even if the cut never arrived.
    const [tenantWait] = await Promise.all([this.tenantLimiter.take(session.tenantId), this.tokens.requireAccess(session.tenantId, session.userId)]);
    if (tenantWait) throw AppError.rateLimited(tenantWait / 1000, 'Too many socket events for this tenant');
    const dto = await validateDto(spec.dto, payload);
    // Charged by work over all the user's sockets (every node): checked after validation, which the cost reads.
    const workWait = await this.userWork.take(session.tenantId, session.userId, spec.cost?.(dto) ?? 1);
    if (workWait) throw AppError.rateLimited(Math.ceil(workWait / 1000), 'Too much work asked by this user: slow down');
    return TenantContext.run({ tenantId: session.tenantId, actor: { type: 'user', id: session.userId }, requestId: socket.id }, () =>
      spec.handle({ socket, session, server: this.server }, dto),
    );
  }

  // ------------------------------------------------------------------ presence, membership, suspension

  private async onPresenceChange(c: PresenceChange): Promise<void> {
    try {
      const key = `${c.tenantId}:${c.userId}`;
      const userRoom = Rooms.user(c.tenantId, c.userId);
      let rooms: string[] | undefined;
      const local = await this.server.local.in(userRoom).fetchSockets();
      if (local.length) rooms = [...new Set(local.flatMap((s) => [...s.rooms].filter((r) => Rooms.parse(r)?.kind === 'conversation')))];
      else if (c.status === 'offline' && this.departedRooms.has(key)) rooms = this.departedRooms.get(key)!.rooms;
      this.departedRooms.delete(key);
      if (!rooms) {
        // Swept from a dead node: nobody here knows their rooms.
        const ids = await TenantContext.run({ tenantId: c.tenantId }, () => this.membership.conversationIdsOf(c.userId));
        rooms = Rooms.conversations(c.tenantId, ids);
      }
      if (c.status === 'offline') {
        await TenantContext.run({ tenantId: c.tenantId }, () => this.users.touchLastSeen([c.userId], c.last_seen ? new Date(c.last_seen) : new Date()));
      }
      if (!rooms.length) return;
      const body = c.status === 'online' ? { user_id: c.userId, status: 'online' } : { user_id: c.userId, status: 'offline', last_seen: c.last_seen };
      this.server.to(rooms).except(userRoom).emit('presence', body);
    } catch (err) {
      this.logger.warn(`presence fan-out failed: ${(err as Error).message}`);
    }
  }

  /** Entries are consumed by the offline event; those of users still online elsewhere expire here. */
  private rememberDeparted(key: string, rooms: string[]): void {
    const now = Date.now();
    if (this.departedRooms.size >= 1000) {
      for (const [k, v] of this.departedRooms) if (now - v.at > 60_000) this.departedRooms.delete(k);
    }
    this.departedRooms.set(key, { rooms, at: now });
  }

  /** Called by the fan-out when members are removed: sockets still joining must re-read their rooms. */
  private onMembersRemoved(tenantId: TenantId, userIds: string[], scope: FanoutScope): void {
    this.markJoiningForRecheck(tenantId, userIds);
    // A relayed event reaches every node by itself; one raised here must be told to the others.
    if (scope === 'cluster' && this.redis.mode === 'redis') this.server.serverSideEmit(MEMBER_REMOVED_SIGNAL, { tenantId, userIds });
  }

  private markJoiningForRecheck(tenantId: TenantId, userIds: string[]): void {
    for (const u of userIds) for (const s of this.joining.get(`${tenantId}:${u}`) ?? []) s.recheckRooms = true;
  }

  /** Every node receives the platform event (Redis pub/sub) and cuts off its own sockets of the tenant. */
  private cutOffTenant(tenantId: TenantId, message: string): void {
    const room = Rooms.tenant(tenantId);
    this.server.local.to(room).emit('tenant:suspended', { error: { code: ErrorCode.TenantSuspended, message } });
    this.server.local.in(room).disconnectSockets(true);
  }

  private async refreshConnectionQuota(): Promise<void> {
    const byTenant = new Map<TenantId, string[]>();
    for (const s of this.server.of('/').sockets.values()) {
      const session = (s as GatewaySocket).data.session;
      if (!session) continue;
      const list = byTenant.get(session.tenantId) ?? [];
      list.push(s.id);
      byTenant.set(session.tenantId, list);
    }
    for (const [tenantId, ids] of byTenant) {
      await this.quotas.refreshConnections(tenantId, ids).catch((err: Error) => this.logger.warn(`connection quota refresh failed: ${err.message}`));
    }
  }

  // ------------------------------------------------------------------ graceful shutdown

  /**
   * Stops accepting connections and writes, lets in-flight events finish (bounded by
   * SHUTDOWN_GRACE_MS), then closes every socket's transport, which socket.io clients treat as a lost
   * connection: they reconnect (through the load balancer, to another node) and sync.
   */
  drain(): Promise<void> {
    this.drainPromise ??= this.doDrain();
    return this.drainPromise;
  }

  private async doDrain(): Promise<void> {
    this.draining = true;
    const grace = this.config.SHUTDOWN_GRACE_MS;
    const server = this.server;
    if (server) {
      // Refuse new handshakes at the HTTP level too, so clients retry with backoff.
      (server.engine.opts as { allowRequest?: (req: unknown, cb: (err: string | null | undefined, ok: boolean) => void) => void }).allowRequest = (_req, cb) => cb('draining', false);
      await this.waitIdle(grace);
      for (const s of server.of('/').sockets.values()) s.conn.close();
      await this.settlePending(grace);
    }
    await this.presence.stop({ clean: true });
    await this.settlePending(grace);
  }

  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.drain();
    this.unsubscribers.splice(0).forEach((u) => u());
    this.fanout.detach();
  }

  /** Client events being handled right now on this node. */
  get inFlightEvents(): number {
    return this.inFlight;
  }

  /** For tests and the bench: sockets connected to this node. */
  get localSocketCount(): number {
    return this.server?.of('/').sockets.size ?? 0;
  }
}
