import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Server } from 'socket.io';
import { UserTokenService } from '@chat/auth';
import { noteGateClaim, noteGateReads } from '@chat/chat';
import { Clock } from '@chat/clock';
import { AppConfig } from '@chat/config';
import { AppError, ErrorCode, validateDto } from '@chat/errors';
import { counter, gauge, histogram } from '@chat/metrics';
import { PlatformEvents } from '@chat/platform';
import { QuotaService, RateLimiter } from '@chat/quotas';
import {
  connectError,
  EventCharges,
  errorAck,
  payloadWithin,
  PresenceTracker,
  Rooms,
  safeAck,
  splitEventArgs,
  TenantEventLimiter,
  unknownEventError,
  UserWorkBudget,
} from '@chat/realtime';
import { RedisService } from '@chat/redis';
import { TenantContext, TenantId } from '@chat/tenancy';
import { ChatFanout } from './chat-fanout';
import { ClientEvents, EventSpec } from './events/client-events';
import { GatewayDrain } from './gateway-drain';
import { PresenceFanout } from './presence-fanout';
import { RoomJoiner } from './room-joiner';
import { SocketHandshake } from './socket-handshake';
import type { GatewaySocket, SocketSession } from './socket-session';
import { emitEvent } from './server-events';

const connections = gauge('chat_socket_connections', 'Open socket.io connections on this node');
const events = counter('chat_socket_events_total', 'Client socket events by event and result code', ['event', 'result']);
const eventSeconds = histogram('chat_socket_event_seconds', 'Time from a client event to its ack', ['event']);

const MAX_TIMER_MS = 2_147_483_647;

/**
 * The socket.io gateway. Handshake (SocketHandshake): the end-user JWT verified by the same service
 * as HTTP, then the tenant's connection quota; a refusal is a `connect_error` whose `data` is the
 * error shape. Each socket joins its tenant, user and conversation rooms (RoomJoiner). Every client
 * event is rate limited (per socket, per tenant, and by work per user), size-checked, validated and
 * run inside TenantContext, and always answered through its ack as `{ ok: true, data }` or `{ error }`.
 * Nothing a client sends can throw out of a handler: errors are logged and affect that socket only.
 * Presence fan-out: PresenceFanout; graceful shutdown: GatewayDrain.
 */
@WebSocketGateway()
export class RealtimeGateway implements OnGatewayInit<Server>, OnGatewayConnection<GatewaySocket>, OnGatewayDisconnect<GatewaySocket>, OnModuleInit, OnModuleDestroy {
  @WebSocketServer() server!: Server;
  private readonly logger = new Logger('RealtimeGateway');
  private readonly charges: EventCharges;
  private readonly maxPayloadBytes: number;
  private refreshTimer?: NodeJS.Timeout;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(
    private readonly config: AppConfig,
    redis: RedisService,
    private readonly tokens: UserTokenService,
    private readonly quotas: QuotaService,
    private readonly presence: PresenceTracker,
    private readonly platformEvents: PlatformEvents,
    private readonly clientEvents: ClientEvents,
    private readonly fanout: ChatFanout,
    private readonly clock: Clock,
    private readonly handshake: SocketHandshake,
    private readonly rooms: RoomJoiner,
    private readonly presenceFanout: PresenceFanout,
    private readonly drainer: GatewayDrain,
    limiter: RateLimiter,
  ) {
    const tenantLimiter = new TenantEventLimiter(redis, config.SOCKET_TENANT_EVENTS_PER_SECOND, () => this.clock.now());
    const userWork = new UserWorkBudget(limiter, redis, config.SOCKET_USER_WORK_BUDGET, config.SOCKET_USER_WORK_WINDOW_MS);
    this.charges = new EventCharges(limiter, tenantLimiter, userWork, quotas);
    this.maxPayloadBytes = config.SOCKET_MAX_PAYLOAD_BYTES ?? config.MESSAGE_MAX_BYTES * 2;
  }

  async onModuleInit(): Promise<void> {
    await this.presence.start();
    this.unsubscribers.push(
      this.presence.onChange((c) => this.drainer.track(this.presenceFanout.onPresenceChange(this.server, c))),
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
    this.fanout.attach(server, (tenantId, userIds) => this.rooms.membersRemoved(tenantId, userIds));
    server.use((socket, next) => {
      this.handshake.authenticate(socket as GatewaySocket, this.drainer.draining).then(
        () => next(),
        (err: unknown) => next(connectError(err)),
      );
    });
    this.unsubscribers.push(this.rooms.listen());
  }

  // ------------------------------------------------------------------ connection

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
        this.presenceFanout.rememberDeparted(`${session.tenantId}:${session.userId}`, rooms);
      });
      // Handlers are registered synchronously above; they wait for this before running.
      session.ready = this.rooms.joinRooms(socket, session);
      session.ready.then(
        () => {
          session.joined = true;
        },
        (err: unknown) => {
          const { body, unexpected } = errorAck(err);
          if (unexpected) this.logger.error(`socket setup failed: ${(err as Error)?.stack ?? String(err)}`);
          socket.emit('connection:error', body);
          socket.disconnect(true);
        },
      );
    } catch (err) {
      this.logger.error(`connection handling failed: ${(err as Error)?.stack ?? String(err)}`);
      socket.disconnect(true);
    }
  }

  handleDisconnect(socket: GatewaySocket): void {
    const session = socket.data.session;
    if (!session) return;
    connections.dec();
    session.releaseConnection();
    for (const conversationId of session.typing.drain()) {
      const room = this.server.to(Rooms.conversation(session.tenantId, conversationId)).except(Rooms.user(session.tenantId, session.userId));
      emitEvent(room, 'typing', { conversation_id: conversationId, user_id: session.userId, typing: false });
    }
    this.drainer.track(
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

  // ------------------------------------------------------------------ client events

  private async onEvent(socket: GatewaySocket, session: SocketSession, name: string, spec: EventSpec, args: unknown[]): Promise<void> {
    const { payload, ack } = splitEventArgs(args);
    const t0 = performance.now();
    this.drainer.eventStarted();
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
      this.drainer.eventEnded();
    }
  }

  private async runEvent(socket: GatewaySocket, session: SocketSession, name: string, spec: EventSpec, payload: unknown): Promise<unknown> {
    if (!session.joined) {
      await session.ready.catch(() => {
        throw new AppError(ErrorCode.ServiceUnavailable, 'The connection could not be set up: reconnect');
      });
    }
    if (this.drainer.draining && spec.write) throw new AppError(ErrorCode.ServiceUnavailable, 'This node is shutting down: retry on another one');
    const wait = session.bucket.take();
    if (wait) throw AppError.rateLimited(wait / 1000, 'Too many events on this connection');
    if (!payloadWithin(payload, this.maxPayloadBytes)) {
      throw new AppError(ErrorCode.PayloadTooLarge, `Event payload is larger than ${this.maxPayloadBytes} bytes`);
    }
    // Validation first (CPU only): the work charge reads its cost. Its refusal is answered in the old
    // order below, after the access check and the tenant limit.
    let dto: object | undefined;
    let invalid: unknown;
    try {
      dto = await validateDto(spec.dto, payload);
    } catch (err) {
      invalid = err;
    }
    const { tenantId, userId } = session;
    // One Redis round trip (EventCharges: the tenant limit, the user's work budget, a send's message
    // quota) side by side with the user check of every HTTP request (a cached read, one MGET): a user
    // deactivated or deleted since the handshake is refused even if the cut never arrived.
    const claim = dto && spec.claim ? spec.claim(tenantId, userId, dto) : null;
    const charging = this.charges.take({ tenantId, userId, units: dto ? (spec.cost?.(dto) ?? 1) : 0, message: dto !== undefined && spec.sendsMessage === true, claim });
    // A send's cached reads start in this tick too, so they join the access check's MGET (send-reads);
    // its checks still run after every refusal above and below, in their order.
    const prepared = dto && spec.prepare ? TenantContext.run({ tenantId, actor: { type: 'user', id: userId }, requestId: socket.id }, () => spec.prepare!(userId, dto)) : null;
    try {
      await this.tokens.requireAccess(tenantId, userId);
    } catch (err) {
      // Refused: what the charge took for work is given back (the tenant's event count stays, as before).
      void charging.then((c) => c.refund()).catch(() => undefined);
      throw err;
    }
    const charge = await charging;
    if (charge.tenantWait) throw AppError.rateLimited(charge.tenantWait / 1000, 'Too many socket events for this tenant');
    if (!dto) throw invalid;
    if (charge.workWait) throw AppError.rateLimited(Math.ceil(charge.workWait / 1000), 'Too much work asked by this user: slow down');
    const dtoOk = dto;
    return TenantContext.run({ tenantId, actor: { type: 'user', id: userId }, requestId: socket.id }, () => {
      // The send's own quota check answers from the charge made above (QuotaService.prepayMessage).
      const prepaid = charge.message ? this.quotas.prepayMessage(tenantId, charge.message.step, charge.message.result) : null;
      // The send's id claimed in the same script: the batch skips its own claim (send-claims).
      if (claim && charge.claimed !== null) noteGateClaim(claim.messageId, charge.claimed);
      if (prepared) noteGateReads(prepared);
      // Once the handler settled, a charge it did not use is given back. Promises only for that: a
      // send's charge is used by then, and on Node 20 every promise runs AsyncLocalStorage's hooks.
      const settle = () => {
        if (prepaid && !prepaid.used) void this.quotas.settlePrepaid(prepaid).catch(() => undefined);
      };
      let handled: Promise<unknown>;
      try {
        handled = Promise.resolve(spec.handle({ socket, session, server: this.server }, dtoOk));
      } catch (err) {
        settle();
        throw err;
      }
      if (!prepaid) return handled;
      return handled.then(
        (data) => {
          settle();
          return data;
        },
        (err: unknown) => {
          settle();
          throw err;
        },
      );
    });
  }

  // ------------------------------------------------------------------ suspension, connection quota

  /** Every node receives the platform event (Redis pub/sub) and cuts off its own sockets of the tenant. */
  private cutOffTenant(tenantId: TenantId, message: string): void {
    const room = Rooms.tenant(tenantId);
    emitEvent(this.server.local.to(room), 'tenant:suspended', { error: { code: ErrorCode.TenantSuspended, message } });
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

  /** See GatewayDrain: refuse new connections and writes, finish in-flight events, close transports. */
  drain(): Promise<void> {
    return this.drainer.drain(this.server);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.drain();
    this.unsubscribers.splice(0).forEach((u) => u());
    this.fanout.detach();
  }

  /** Client events being handled right now on this node. */
  get inFlightEvents(): number {
    return this.drainer.inFlightEvents;
  }

  /** For tests and the bench: sockets connected to this node. */
  get localSocketCount(): number {
    return this.server?.of('/').sockets.size ?? 0;
  }
}
